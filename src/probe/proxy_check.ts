/**
 * `check-config --probe`: whether a reverse proxy between base_url and http.listen tells the
 * service the browser's address. Judged from the probe's own request to `<base_url>/healthz` as
 * it reached the probe's listener on http.listen (probe.ts marks it, so no other request that
 * arrives meanwhile is taken for it). Pure, like checks.ts.
 */
import { FORWARDING_HEADERS, seesReadyDetails, type TrustedProxies } from "../http/client_ip.ts";
import { normalizeIp } from "../ip_address.ts";
import { isLoopbackAddress, isLoopbackHost } from "../loopback.ts";
import { type CheckResult, pass, warn } from "./checks.ts";

/** The probe's request to base_url as http.listen received it. */
export interface ArrivedRequest {
  /** The connection's peer, as the service takes it before any header. */
  readonly peer: string;
  /** Its Host header. */
  readonly host: string | undefined;
  /** FORWARDING_HEADERS it carries, by name, with their values. */
  readonly forwarding: Readonly<Partial<Record<(typeof FORWARDING_HEADERS)[number], string>>>;
}

export interface ProxySetting {
  readonly baseUrl: URL;
  readonly listen: { readonly host: string; readonly port: number };
  readonly isTrusted: TrustedProxies;
  /** http.max_connections_per_client: what every browser behind an unknown proxy shares. */
  readonly maxConnectionsPerClient: number;
}

const CHECK = "reverse proxy";
const FORWARD_FOR_FIX = "nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; " +
  "HAProxy: option forwardfor; Apache's mod_proxy_http sends it";

/**
 * Undefined when the request came straight from the probe (no proxy to judge). The probe sends no
 * forwarding header, so one that arrives was added on the way. Without one, a hop still shows:
 * - the Host header differs from base_url's (nginx and Apache put the backend's there);
 * - base_url's port is not http.listen's (a proxy on this host listens on a port of its own:
 *   HAProxy, which keeps the Host header, is seen so);
 * - the peer is loopback while base_url's host is not (a connection to a non-loopback address of
 *   this host comes from that address, not from 127.0.0.1: something on this host relayed it).
 * A NAT port forward (443 to 9000) is such a hop too, though browsers' addresses survive it: the
 * fix says so. A proxy on another host, on http.listen's port, that keeps the Host header and adds
 * nothing, is not seen.
 */
export function proxyCheck(
  setting: ProxySetting,
  arrived: ArrivedRequest,
): CheckResult | undefined {
  const peer = normalizeIp(arrived.peer);
  const forwardedFor = arrived.forwarding["x-forwarded-for"];
  const shared = `every browser shares its limit of ${setting.maxConnectionsPerClient} ` +
    "connections (http.max_connections_per_client) and http.check_client_ip sees the proxy's " +
    "address";
  if (forwardedFor !== undefined) {
    if (setting.isTrusted(peer)) {
      return pass(
        CHECK,
        `base_url reaches http.listen through ${peer}, which sends X-Forwarded-For and is in ` +
          "http.trusted_proxies",
      );
    }
    return warn(
      CHECK,
      `base_url reaches http.listen through a proxy at ${peer} that sends X-Forwarded-For but is ` +
        `not in http.trusted_proxies: the header is not believed, ${shared}`,
      `List the proxy in http.trusted_proxies (trusted_proxies = ["${peer}"])`,
    );
  }
  const others = FORWARDING_HEADERS.filter((name) => arrived.forwarding[name] !== undefined);
  if (others.length === 0 && !hopSeen(setting, arrived, peer)) return undefined;
  const sends = others.length === 0
    ? ""
    : ` (it sends ${others.join(", ")}, which the service does not read)`;
  const readyz = seesReadyDetails(peer, others.length > 0, setting.isTrusted)
    ? "browsers get /readyz details (servers, links), and "
    : "";
  return warn(
    CHECK,
    `base_url reaches http.listen through a proxy at ${peer} that sends no X-Forwarded-For` +
      `${sends}: ${readyz}${shared}`,
    `Have the proxy send X-Forwarded-For (${FORWARD_FOR_FIX}) and list it in ` +
      "http.trusted_proxies. A NAT port forward, which keeps browsers' addresses, needs neither",
  );
}

function hopSeen(setting: ProxySetting, arrived: ArrivedRequest, peer: string): boolean {
  const { baseUrl, listen } = setting;
  const basePort = baseUrl.port !== ""
    ? Number(baseUrl.port)
    : baseUrl.protocol === "https:"
    ? 443
    : 80;
  return arrived.host?.toLowerCase() !== baseUrl.host.toLowerCase() ||
    basePort !== listen.port ||
    (isLoopbackAddress(peer) && !isLoopbackHost(baseUrl.hostname));
}
