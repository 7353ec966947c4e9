/**
 * IP addresses as bytes, so that two spellings of one address compare equal: `2001:DB8::1` and
 * `2001:db8:0:0:0:0:0:1`, `::ffff:198.51.100.7` and `198.51.100.7`.
 */
import { isIP, isIPv4 } from "node:net";

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address; brackets are dropped. */
export function normalizeIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped ? mapped[1]! : bare;
}

/** `host:port`, an IPv6 host in brackets (`[::1]:443`), as an address with a port is written. */
export function hostAndPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `[IPv6]` or `[IPv6]:port`: how an address with a port must write IPv6 (RFC 3986). */
const BRACKETED = /^\[([^[\]]*)\](?::(\d{1,5}))?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/**
 * One `X-Forwarded-For` entry as the address it names, without the port some proxies add (Azure
 * Application Gateway always: `203.0.113.7:51234`; IIS ARR with "Include TCP port from client
 * IP"): `IPv4:port` and `[IPv6]:port`, the port 1-65535 in digits. A bare IPv6 is never split:
 * its last group is no port. Undefined for anything else (`unknown`, an obfuscated identifier, a
 * stray bracket, a bad port), left of which nothing is believed.
 */
export function forwardedAddress(entry: string): string | undefined {
  const text = entry.trim();
  const [, address = text, port] = BRACKETED.exec(text) ?? IPV4_WITH_PORT.exec(text) ?? [];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return undefined;
  if (/[[\]]/.test(address)) return undefined;
  const ip = normalizeIp(address);
  return isIP(ip) === 0 ? undefined : ip;
}

/** Whether two texts name the same address; anything that is not an address matches nothing. */
export function sameIpAddress(a: string, b: string): boolean {
  const left = canonicalIpBytes(a);
  const right = canonicalIpBytes(b);
  return left !== undefined && right !== undefined && left.length === right.length &&
    left.every((byte, i) => byte === right[i]);
}

/**
 * The address, grouped as one subscriber's: an IPv4 address, or the /64 of an IPv6 address (the
 * usual allocation of one home or office, whose devices each pick addresses in it at will). What
 * a per-client cap counts by: the HTTP guard's connections (connection_guard.ts) and the pending
 * sign-ins of one OpenVPN server (sign_ins.ts). Anything that is not an address is its own group.
 */
export function addressGroup(ip: string): string {
  // OpenVPN's untrusted_ip, at every CONNECT: a dotted quad isIPv4 takes has no leading zeros,
  // so it is already the group's text, without the bytes and the strings made for them.
  if (isIPv4(ip)) return ip;
  const bytes = canonicalIpBytes(ip);
  if (bytes === undefined) return ip;
  return (bytes.length === 4 ? bytes : bytes.subarray(0, 8)).join(".");
}

/** 4 bytes for IPv4 and IPv4-mapped IPv6 in any spelling, 16 for other IPv6. */
export function canonicalIpBytes(text: string): Uint8Array | undefined {
  const bytes = ipBytes(text);
  if (bytes?.length !== 16) return bytes;
  const mapped = bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** The address as 4 (IPv4) or 16 (IPv6) bytes; undefined for anything else. */
function ipBytes(text: string): Uint8Array | undefined {
  const ip = normalizeIp(text);
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
