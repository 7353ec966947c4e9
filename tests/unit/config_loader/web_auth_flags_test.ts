/**
 * `openvpn.web_auth_flags` (README, "OpenVPN clients and WEB_AUTH flags"): checked against the
 * flags OpenVPN defines, per server, counted toward the 246-character WEB_AUTH limit with
 * http.base_url, and live on reload unless base_url changes with them.
 */
import { assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf,
  HTTP_OIDC_TOML,
  issuePairsOf,
  MINIMAL_TOML,
  minimalTomlWith,
  parseInlineToml,
  parseTestConfig,
} from "../../support/config_toml.ts";
import { mergeReload } from "../../../src/config/live.ts";

const withFlags = (flags: string) => minimalTomlWith("openvpn", [`web_auth_flags = ${flags}`]);

/** MINIMAL_TOML with a base URL of `length` characters. */
function withBaseUrl(source: string, length: number): string {
  const origin = "https://vpn.example.com/";
  return source.replace(
    'base_url = "https://vpn.example.com"',
    `base_url = "${origin}${"p".repeat(length - origin.length)}"`,
  );
}

const TOO_LONG_WITH_EXTERNAL = "Too long with these flags: OpenVPN's 246-character WEB_AUTH " +
  "limit counts them, so with them http.base_url may have at most 194 characters, and it has " +
  "195 (shorten base_url or drop a flag)";

Deno.test("web_auth_flags: none by default; external accepted, from the file or a bare variable", () => {
  assertEquals(parseTestConfig(MINIMAL_TOML).config.servers[0]!.webAuthFlags, []);
  assertEquals(parseTestConfig(withFlags('["external"]')).config.servers[0]!.webAuthFlags, [
    "external",
  ]);
  const fromEnv = parseTestConfig(MINIMAL_TOML, {
    OPENVPN_AUTH_OIDC_OPENVPN_WEB_AUTH_FLAGS: "external",
  });
  assertEquals(fromEnv.config.servers[0]!.webAuthFlags, ["external"]);
});

Deno.test("web_auth_flags: an unknown flag, hidden, proxy, a list in one string and a repeat are refused by index", () => {
  const issues = configIssuesOf(
    withFlags('["external", "extrnal", "hidden", "proxy", "external,hidden", "external"]'),
  );
  assertEquals(issues.map(({ path }) => path), [
    "openvpn.web_auth_flags[1]",
    "openvpn.web_auth_flags[2]",
    "openvpn.web_auth_flags[3]",
    "openvpn.web_auth_flags[4]",
    "openvpn.web_auth_flags[5]",
  ]);
  assertEquals(
    issues[0]!.message,
    'Unknown WEB_AUTH flag "extrnal": OpenVPN defines external, hidden and proxy, of which the ' +
      "bridge sends external",
  );
  assertEquals(issues[4]!.message, 'Listed twice: "external"');
  assertEquals(issues[0]!.line, 3);
});

Deno.test("web_auth_flags: a base URL that fits without the flags but not with them is refused at the flags", () => {
  // 194 characters fit with "external" (README); 195 fit only without flags.
  parseTestConfig(withBaseUrl(withFlags('["external"]'), 194));
  parseTestConfig(withBaseUrl(MINIMAL_TOML, 195));
  assertEquals(issuePairsOf(withBaseUrl(withFlags('["external"]'), 195)), [
    ["openvpn.web_auth_flags", TOO_LONG_WITH_EXTERNAL],
  ]);
  // Too long even without flags: http.base_url's problem alone, said once.
  assertEquals(
    issuePairsOf(withBaseUrl(withFlags('["external"]'), 203)).map(([path]) => path),
    ["http.base_url"],
  );
});

Deno.test("web_auth_flags: per server in [[openvpn]], each judged with its own flags", () => {
  const servers = `
[[openvpn]]
name = "udp"
management = "unix:///run/openvpn/udp.sock"

[[openvpn]]
name = "tcp"
management = "unix:///run/openvpn/tcp.sock"
web_auth_flags = ["external"]

${HTTP_OIDC_TOML}`;
  const { config } = parseInlineToml(servers);
  assertEquals(config.servers.map((server) => server.webAuthFlags), [[], ["external"]]);
  assertEquals(issuePairsOf(withBaseUrl(servers, 195)), [
    ["openvpn[1].web_auth_flags", TOO_LONG_WITH_EXTERNAL],
  ]);
  assertEquals(
    issuePairsOf(servers.replace('web_auth_flags = ["external"]', 'web_auth_flags = ["hidden"]'))
      .map(([path]) => path),
    ["openvpn[1].web_auth_flags[0]"],
  );
});

Deno.test("web_auth_flags: live on reload, but with a new base_url they wait for it (restart)", () => {
  const old = parseInlineToml(MINIMAL_TOML).config;
  const next = parseInlineToml(withFlags('["external"]')).config;
  const live = mergeReload(old, next);
  assertEquals(live.config.servers[0]!.webAuthFlags, ["external"]);
  assertEquals(live.kept, []);
  // Checked against the new base_url, which is not in force until a restart: with the old one
  // (195 characters) the flags would make every login URL too long.
  const longOld = parseInlineToml(withBaseUrl(MINIMAL_TOML, 195)).config;
  const both = mergeReload(longOld, next);
  assertEquals(both.config.servers[0]!.webAuthFlags, []);
  assertEquals(both.config.http.baseUrl, longOld.http.baseUrl);
  assertEquals(both.kept.toSorted(), ["http.base_url", "openvpn.web_auth_flags"]);
});
