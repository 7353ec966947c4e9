/**
 * The browser's IP address: the socket peer, or, when the peer is a trusted reverse proxy, the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Left-most entries are
 * whatever the client chose to send, so they are never believed.
 */
import { isIP } from "node:net";
import { ipBytes, normalizeIp } from "../ip_address.ts";

interface Range {
  bytes: Uint8Array;
  prefix: number;
}

export type TrustedProxies = (ip: string) => boolean;

export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges = entries.map(parseRange).filter((range): range is Range => range !== undefined);
  // No proxies (the usual set-up): nothing to parse the address for, on every request.
  if (ranges.length === 0) return () => false;
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
  let ip = normalizeIp(peer);
  if (!isTrusted(ip) || !forwardedFor) return ip;
  const hops = forwardedFor.split(",").map((hop) => normalizeIp(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return ip;
    ip = hop;
    if (!isTrusted(hop)) return hop;
  }
  return ip;
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
