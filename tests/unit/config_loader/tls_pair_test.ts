/**
 * http.tls_cert_file and http.tls_key_file come as a pair: the listener serves TLS only with both
 * (src/http/listeners.ts), so one alone would serve the sign-in pages and their cookies over plain
 * HTTP to an operator who believes they set up TLS.
 */
import { assertEquals } from "../../support/assert.ts";
import { issuePairsOf, MINIMAL_TOML } from "../../support/config_toml.ts";

const withHttp = (lines: string) => MINIMAL_TOML.replace("[http]", `[http]\n${lines}`);

Deno.test("http.tls_cert_file without tls_key_file, or the key without the certificate, is refused, naming the missing one", () => {
  assertEquals(issuePairsOf(withHttp('tls_cert_file = "/etc/oa/cert.pem"')), [[
    "http.tls_key_file",
    "Set both tls_cert_file and tls_key_file, or neither",
  ]]);
  assertEquals(issuePairsOf(withHttp('tls_key_file = "/etc/oa/key.pem"')), [[
    "http.tls_cert_file",
    "Set both tls_cert_file and tls_key_file, or neither",
  ]]);
});
