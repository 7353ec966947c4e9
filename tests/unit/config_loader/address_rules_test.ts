/**
 * Address keys: a port from 1 to 65535 (0 would listen on a port the kernel picks, which no
 * client or proxy knows), and a management socket by its absolute path (a relative one would
 * depend on the directory the service was started in).
 */
import { assertEquals } from "../../support/assert.ts";
import { issuePairsOf, MINIMAL_TOML, parseInlineToml } from "../../support/config_toml.ts";

const withListen = (listen: string) =>
  MINIMAL_TOML.replace("[http]", `[http]\nlisten = "${listen}"`);

Deno.test("http.listen takes ports 1 and 65535, and refuses 0 and 65536", () => {
  assertEquals(parseInlineToml(withListen("127.0.0.1:1")).config.http.listen.port, 1);
  assertEquals(parseInlineToml(withListen("127.0.0.1:65535")).config.http.listen.port, 65535);
  for (const listen of ["127.0.0.1:0", "127.0.0.1:65536"]) {
    assertEquals(issuePairsOf(withListen(listen)), [[
      "http.listen",
      `Expected "host:port" (IPv6 as "[::1]:port"), got "${listen}"`,
    ]]);
  }
});

Deno.test("openvpn.management refuses a unix socket path that is not absolute", () => {
  const relative = MINIMAL_TOML.replace("unix:///run/", "unix://run/");
  assertEquals(issuePairsOf(relative), [[
    "openvpn.management",
    'Expected "unix:///absolute/path", got "unix://run/openvpn/mgmt.sock"',
  ]]);
});
