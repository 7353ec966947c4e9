/**
 * What `check-config --probe` tests run the probe on when only the session store or the control
 * socket is of interest: a config whose OpenVPN management is on a closed port and whose IdP
 * nobody answers for, and the probe's I/O with the network offline and http.listen free.
 */
import { freePort } from "./free_port.ts";
import { parseInlineToml } from "./config_toml.ts";
import type { HttpServer } from "../../src/http/serve.ts";

/** A probed config: OpenVPN on a closed port, the IdP offline, `sessions` and `control` set. */
export async function probedConfig(sessions: string, controlSocket: string) {
  const closed = await freePort();
  return parseInlineToml(`
[openvpn]
management = "tcp://127.0.0.1:${closed}"
[http]
base_url = "https://vpn.test"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "https://idp.test/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"
http_timeout = "1s"
[sessions]
${sessions}
[control]
socket = "${controlSocket}"
`).config;
}

/** Every request fails as with no network. */
export const offline = () => Promise.reject(new TypeError("offline"));

/** http.listen free: the probe serves it (here: pretends to). */
export const listenFree = {
  fetch: offline,
  serve: () =>
    Promise.resolve(
      { port: 0, stats: () => ({}), close: () => Promise.resolve() } as unknown as HttpServer,
    ),
};
