/**
 * The browser's IP address: the socket peer, or, when the peer is a trusted reverse proxy, the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy (forwardedAddress: a port
 * after it is dropped). Left-most entries are whatever the client chose to send, so they are never
 * believed.
 */
import { isIP } from "node:net";
import { canonicalIpBytes, forwardedAddress, normalizeIp } from "../ip_address.ts";
import { isLoopbackAddress } from "../loopback.ts";

/** Headers a reverse proxy adds to what it forwards; only X-Forwarded-For names the browser. */
export const FORWARDING_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip"] as const;

interface Range {
  bytes: Uint8Array;
  prefix: number;
}

export type TrustedProxies = (ip: string) => boolean;

export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges = entries.map(proxyRange).filter((range): range is Range => range !== undefined);
  // No proxies (the usual set-up): nothing to parse the address for, on every request.
  if (ranges.length === 0) return () => false;
  return (ip) => {
    const bytes = canonicalIpBytes(ip);
    return bytes !== undefined && ranges.some((range) => inRange(bytes, range));
  };
}

/**
 * The trusted-proxy check of a list that may change (reload: a function asked each time),
 * compiled again only when the list itself changes.
 */
export function liveTrustedProxies(
  list: readonly string[] | (() => readonly string[]),
): TrustedProxies {
  const current = typeof list === "function" ? list : () => list;
  let compiled = { list: current(), isTrusted: trustedProxies(current()) };
  return (ip) => {
    const now = current();
    if (now !== compiled.list) compiled = { list: now, isTrusted: trustedProxies(now) };
    return compiled.isTrusted(ip);
  };
}

/**
 * Whether /readyz shows its details (the servers' names and links) to a request from `asker`
 * (its clientIp): this host and the trusted proxies' own health checks, not a request a proxy
 * forwarded (`forwarded`: it carries one of FORWARDING_HEADERS), which is a browser's, even from
 * a proxy on this host that is not in trusted_proxies. A proxy that forwards without any such
 * header makes every browser's request look like its own.
 */
export function seesReadyDetails(
  asker: string,
  forwarded: boolean,
  isTrusted: TrustedProxies,
): boolean {
  return !forwarded && (isLoopbackAddress(asker) || isTrusted(asker));
}

export function clientIp(
  peer: string,
  forwardedFor: string | undefined,
  isTrusted: TrustedProxies,
): string {
  let ip = normalizeIp(peer);
  if (!isTrusted(ip) || !forwardedFor) return ip;
  const hops = forwardedFor.split(",").map((hop) => forwardedAddress(hop));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) return ip;
    ip = hop;
    if (!isTrusted(hop)) return hop;
  }
  return ip;
}

/**
 * A `trusted_proxies` entry: an address or a CIDR range; undefined when it is neither (the config
 * check refuses those). IPv4 counts however it is written, as peers do: `::ffff:192.0.2.0/120` is
 * 192.0.2.0/24. An IPv4-mapped range shorter than /96 reaches beyond IPv4 and is refused.
 */
export function proxyRange(entry: string): Range | undefined {
  const [address = "", prefixText, extra] = entry.split("/");
  const bytes = canonicalIpBytes(address);
  if (bytes === undefined || extra !== undefined) return undefined;
  if (prefixText === undefined) return { bytes, prefix: bytes.length * 8 };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const writtenBits = isIP(address.replace(/^\[|\]$/g, "")) === 6 ? 128 : 32;
  // 96 for an IPv4-mapped IPv6 range, whose bytes are its IPv4 part; 0 otherwise.
  const mappedBits = writtenBits - bytes.length * 8;
  const prefix = Number(prefixText);
  if (prefix > writtenBits || prefix < mappedBits) return undefined;
  return { bytes, prefix: prefix - mappedBits };
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
