/**
 * Whether a URL host name is the local machine: `localhost`, IPv6 `::1`, or any IPv4 address in
 * 127.0.0.0/8 (the whole block is loopback, not only 127.0.0.1). Plain `http://` is acceptable
 * only for such hosts, where no network sees the traffic. Every such rule asks this one function.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "[::1]" || host === "::1") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/** Whether a peer's IP address (normalized: no brackets, no IPv4-mapped form) is loopback. */
export function isLoopbackAddress(ip: string): boolean {
  return ip !== "localhost" && isLoopbackHost(ip);
}

/** Whether `url` is plain HTTP to a loopback host. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === "http:" && isLoopbackHost(url.hostname);
}
