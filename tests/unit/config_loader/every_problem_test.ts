/**
 * One run of check-config lists every problem: a misspelt key does not hide the rules between
 * values (a short secret, an http:// issuer). A value of the wrong type, or a missing one,
 * does: those rules cannot be asked of a value that is not there.
 */
import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML } from "../../support/config_toml.ts";

/** A misspelt key, a secret too short and an issuer over plain HTTP. */
const THREE_PROBLEMS = MINIMAL_TOML
  .replace('client_id = "openvpn"', 'client_id = "openvpn"\nclient_secrte = "x"')
  .replace(/^secret = .*$/m, 'secret = "too-short"')
  .replace("https://sso.example.com", "http://sso.example.com");

Deno.test("parseConfig() lists an unknown key and the rules between values at once", () => {
  const issues = configIssuesOf(THREE_PROBLEMS);
  assertEquals(issues.map(({ path }) => path), [
    "oidc.client_secrte",
    "http.secret",
    "oidc.issuer",
  ]);
  // The resolver's issues keep their lines.
  assertEquals(issues.map(({ line }) => typeof line), ["number", "number", "number"]);
});

Deno.test("parseConfig() lists an unknown environment variable and the rules at once", () => {
  const issues = configIssuesOf(MINIMAL_TOML.replace(/^secret = .*$/m, 'secret = "too-short"'), {
    OPENVPN_AUTH_OIDC_HTTP_LISTNE: "0.0.0.0:9000",
  });
  assertEquals(issues.map(({ path }) => path), ["OPENVPN_AUTH_OIDC_HTTP_LISTNE", "http.secret"]);
});

Deno.test("parseConfig() leaves the rules between values until every value type-checks", () => {
  // confirm_login is not a boolean: the short secret waits, and nothing throws on the gap.
  const source = THREE_PROBLEMS.replace("[http]", '[http]\nconfirm_login = "yes"');
  assertEquals(configIssuesOf(source).map(({ path }) => path), [
    "http.confirm_login",
    "oidc.client_secrte",
  ]);
  // A required key missing: the same.
  const missing = THREE_PROBLEMS.replace(/^base_url = .*$/m, "");
  assertEquals(configIssuesOf(missing).map(({ path }) => path), [
    "http.base_url",
    "oidc.client_secrte",
  ]);
});
