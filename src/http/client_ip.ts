/**
 * The browser's IP address: the socket peer, or, when the peer is a trusted reverse proxy, the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Left-most entries are
 * whatever the client chose to send, so they are never believed.
 */
import { isIP } from "node:net";

interface Range {
  bytes: Uint8Array;
  prefix: number;
}

export type TrustedProxies = (ip: string) => boolean;

export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges = entries.map(parseRange).filter((range): range is Range => range !== undefined);
  return (ip) => {
    const bytes = ipBytes(ip);
    return bytes !== undefined && ranges.some((range) => inRange(bytes, range));
  };
}

export function clientIp(
  peer: string,
  forwardedFor: string | undefined,
  isTrusted: TrustedProxies,
): string {
  let ip = normalize(peer);
  if (!isTrusted(ip) || !forwardedFor) return ip;
  const hops = forwardedFor.split(",").map((hop) => normalize(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return ip;
    ip = hop;
    if (!isTrusted(hop)) return hop;
  }
  return ip;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address; brackets are dropped. */
function normalize(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped ? mapped[1]! : bare;
}

function parseRange(entry: string): Range | undefined {
  const [address = "", prefixText] = entry.split("/");
  const bytes = ipBytes(address);
  if (!bytes) return undefined;
  const prefix = prefixText === undefined ? bytes.length * 8 : Number(prefixText);
  return { bytes, prefix };
}

function inRange(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; i < bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

function ipBytes(text: string): Uint8Array | undefined {
  const ip = normalize(text);
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from(ip.split(".").map(Number));
  if (version !== 6) return undefined;
  const [head = "", tail] = ip.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  let left = groups(head);
  let right = tail === undefined ? [] : groups(tail);
  const last = (right.length > 0 ? right : left).at(-1);
  const embedded: string[] = [];
  if (last?.includes(".")) {
    const v4 = last.split(".").map(Number);
    embedded.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
    if (right.length > 0) right = [...right.slice(0, -1), ...embedded];
    else left = [...left.slice(0, -1), ...embedded];
  }
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array(tail === undefined ? 0 : missing).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}
