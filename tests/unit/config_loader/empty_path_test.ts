/**
 * An empty path is refused at its key, from the file and from the environment (an
 * `EnvironmentFile=` line `..._TLS_KEY_FILE=`): the code using one took "" for "not set" (the
 * listener served plain HTTP) or for another path. `control.socket = ""` stays the way to turn
 * the control socket off.
 */
import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";

const CERT = '[http]\ntls_cert_file = "/etc/oa/cert.pem"';

/** Path and message of each issue. */
function issuesOf(source: string, env: Record<string, string> = {}) {
  return configIssuesOf(source, env).map(({ path, message }) => ({ path, message }));
}

Deno.test("parseConfig() refuses a TLS certificate with an empty key path", () => {
  assertEquals(issuesOf(MINIMAL_TOML.replace("[http]", `${CERT}\ntls_key_file = ""`)), [{
    path: "http.tls_key_file",
    message: "Must not be empty",
  }]);
  assertEquals(
    issuesOf(MINIMAL_TOML.replace("[http]", CERT), { OPENVPN_AUTH_OIDC_HTTP_TLS_KEY_FILE: "" }),
    [{
      path: "http.tls_key_file",
      message: "Must not be empty (from OPENVPN_AUTH_OIDC_HTTP_TLS_KEY_FILE)",
    }],
  );
});

Deno.test("parseConfig() refuses every path key and *_file secret when empty", () => {
  for (
    const path of [
      "http.tls_cert_file",
      "http.tls_key_file",
      "http.templates_dir",
      "http.secret_file",
      "oidc.client_secret_file",
      "oidc.tls_ca_file",
      "sessions.path",
      "sessions.tls_ca_file",
    ]
  ) {
    const variable = `OPENVPN_AUTH_OIDC_${path.replace(".", "_").toUpperCase()}`;
    assertEquals(
      issuesOf(MINIMAL_TOML, { [variable]: "" }),
      [{ path, message: `Must not be empty (from ${variable})` }],
      variable,
    );
  }
});

Deno.test('parseConfig() takes control.socket = "" (no control socket)', () => {
  const { config } = parseTestConfig(`${MINIMAL_TOML}\n[control]\nsocket = ""\n`);
  assertEquals(config.control.socket, "");
  const fromEnv = parseTestConfig(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_CONTROL_SOCKET: "" });
  assertEquals(fromEnv.config.control.socket, "");
});
