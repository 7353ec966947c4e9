import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";

/** MINIMAL_TOML with these bypass_common_names, as TOML literal strings. */
function withPatterns(...patterns: string[]): string {
  const list = patterns.map((pattern) => `'${pattern}'`).join(", ");
  return MINIMAL_TOML.replace("[http]", () => `bypass_common_names = [${list}]\n[http]`);
}

Deno.test("bypass_common_names refuses a pattern that is no regular expression on its own: its ')' would end the anchors' group", () => {
  // Compiled as ^(?:gw-1)|(.*)$ it matched every name: every certificate client let in.
  const issues = configIssuesOf(withPatterns("gw-1)|(.*"));
  assertEquals(issues.map(({ path, line }) => [path, line]), [[
    "openvpn.bypass_common_names[0]",
    5,
  ]]);
  assertEquals(
    issues[0]!.message,
    "Invalid regular expression: Invalid regular expression: /gw-1)|(.*/: Unmatched ')'",
  );
});

Deno.test("bypass_common_names warns of a pattern that matches an empty name, naming it, its key and its line", () => {
  const loaded = parseTestConfig(withPatterns("gw-[0-9]+", "(gw-1)?", ".*", "gw-1|", ""));
  assertEquals(loaded.warnings.map(({ path, line }) => [path, line]), [
    ["openvpn.bypass_common_names[1]", 5],
    ["openvpn.bypass_common_names[2]", 5],
    ["openvpn.bypass_common_names[3]", 5],
    ["openvpn.bypass_common_names[4]", 5],
  ]);
  assertEquals(
    loaded.warnings[0]!.message,
    '"(gw-1)?" matches an empty name, so it may match more names than meant: every client whose ' +
      'certificate name it matches connects without signing in (".*": every client with a ' +
      "certificate). A client without a certificate is never let in by a pattern",
  );
  // Warned, not refused: every pattern applies, and still none admits an empty name.
  const patterns = loaded.config.servers[0]!.bypassCommonNames;
  assertEquals(patterns.map((pattern) => pattern.test("gw-1")), [true, true, true, true, false]);
});

Deno.test("bypass_common_names warns of a pattern that matches names nobody chose: \\w+, [a-z]+ and .* admit a user's certificate", () => {
  const wide = [
    ".+",
    ".*",
    ".*.*",
    "[^x]*x?",
    "\\S+",
    ".{1,64}",
    "[^@]+",
    // Each misses most names of other forms, and matches every name of its own: a user's too.
    "\\w+",
    "[a-z]+",
    "[A-Z0-9]{6}",
    "\\d+",
    "[0-9a-f-]{36}",
    "[a-z]+[0-9]+",
    "[A-Z][a-z]+ [A-Z][a-z]+",
    "[a-z]+\\.[a-z]+",
    "[^@]+@[^@]+",
  ];
  const loaded = parseTestConfig(withPatterns(...wide));
  assertEquals(
    loaded.warnings.map(({ path }) => path),
    wide.map((_, index) => `openvpn.bypass_common_names[${index}]`),
  );
  assertEquals(
    loaded.warnings[8]!.message,
    '"[a-z]+" matches names nobody chose, such as "ftje" (random characters in a form ' +
      "certificate names take): every client whose certificate name has that form, a user's as " +
      "well as a gateway's, connects without signing in. A client without a certificate is " +
      "never let in by a pattern",
  );
  assertEquals(loaded.warnings[3]!.message.includes('"[^x]*x?"'), true);
});

Deno.test("bypass_common_names says a pattern that matches every kind of name admits every client with a certificate, and \\w+ only names nobody chose", () => {
  const matchAll = [".*", ".+", "^.*$", "[^\\n]*", ".*.*", ".{1,64}"];
  const loaded = parseTestConfig(withPatterns(...matchAll, "\\w+", "\\S+"));
  const messages = loaded.warnings.map(({ message }) => message);
  assertEquals(
    messages[0],
    '".*" matches almost any name (every one of 9 unrelated names tried, such as "alice", ' +
      '"00A1F3" and "Mallory O\'Neil"): every client with a certificate connects without ' +
      "signing in. A client without a certificate is never let in by a pattern",
  );
  matchAll.forEach((source, index) =>
    assertEquals(
      messages[index]!.startsWith(`"${source}" matches almost any name`),
      true,
      messages[index],
    )
  );
  // Each misses names of other kinds: what it admits is names of its own forms, not every name.
  assertEquals(
    messages[matchAll.length],
    '"\\w+" matches names nobody chose, such as "ftje" (random characters in a form ' +
      "certificate names take): every client whose certificate name has that form, a user's as " +
      "well as a gateway's, connects without signing in. A client without a certificate is " +
      "never let in by a pattern",
  );
  assertEquals(
    messages[matchAll.length + 1]!.startsWith('"\\S+" matches names nobody chose'),
    true,
  );
});

Deno.test("bypass_common_names from a variable: the warning names the variable", () => {
  const variable = "OPENVPN_AUTH_OIDC_OPENVPN_BYPASS_COMMON_NAMES";
  const { warnings } = parseTestConfig(MINIMAL_TOML, { [variable]: "site-.*|" });
  assertEquals(warnings.map(({ path }) => path), ["openvpn.bypass_common_names[0]"]);
  assertEquals(warnings[0]!.message.includes(variable), true, warnings[0]!.message);
});

Deno.test("bypass_common_names says nothing of patterns that need text the operator chose: anchored, they match it whole", () => {
  const loaded = parseTestConfig(
    withPatterns(
      "site-.*",
      "gw-[0-9]{1,3}",
      "^edge$",
      "a|b",
      "^gw-[0-9]+$",
      "^vpn-gw-[0-9]+$",
      "^backup\\.example\\.com$",
      ".*\\.example\\.net",
      "[a-z]+-gw-[0-9]+",
      "vpn-gw-[0-9a-f]{4,8}",
      // Every address of the operator's domain: text only the operator can judge.
      ".*@example\\.org",
    ),
  );
  assertEquals(loaded.warnings, []);
  const [site, , edge, either] = loaded.config.servers[0]!.bypassCommonNames;
  assertEquals([site!.test("site-berlin"), site!.test("evil-site-berlin")], [true, false]);
  assertEquals([edge!.test("edge"), edge!.test("edges")], [true, false]);
  assertEquals([either!.test("a"), either!.test("ab")], [true, false]);
});
