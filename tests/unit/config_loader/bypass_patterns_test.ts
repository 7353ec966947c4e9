import { assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf,
  configWarningsWithin,
  MINIMAL_TOML,
  parseTestConfig,
} from "../../support/config_toml.ts";

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
      "^[a-z0-9.-]+\\.corp\\.example\\.com$",
      "vpn-gw-[0-9]+",
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

Deno.test("bypass_common_names says a pattern that matches all nine unrelated names, and no random one, is the operator's list", () => {
  // The nine names written out admit those nine: "matches almost any name" would be untrue of it.
  const unrelated = [
    "alice",
    "bob\\.smith@mail\\.example\\.org",
    "laptop-0042\\.corp\\.example\\.net",
    "Mallory O\\x27Neil",
    "3f2b9c1e-7d4a-4e8b-9a61-0c5d2e7f8a13",
    "00A1F3",
    "7",
    "Zürich Büro 3",
    "Q{20}(?:z_9\\.){11}",
  ];
  assertEquals(parseTestConfig(withPatterns(unrelated.join("|"))).warnings, []);
});

Deno.test("bypass_common_names warns of a pattern with nested repetition, which backtracks for ever on a long name, and the load ends", async () => {
  // Each took minutes to load before (on 1,700 names of up to 64 characters), the SIGHUP reload
  // with it; the worker ends a load that takes 60 s, so such a regression fails, not hangs. Not
  // less: the load takes about 1 s alone, and 10 s ran out once with six test processes on two
  // cores (a safety net, not a timing assertion).
  const backtracking = [
    "[a-z0-9]+([.-]?[a-z0-9]+)*\\.example\\.com",
    "([a-z0-9]+-?)+\\.corp\\.example\\.com",
    "([a-z0-9]+[.-]?)+example\\.net",
    "([a-z]+)*!",
    "(\\w+\\.?)+@example\\.org",
    // Match a short name at once and fail only at a long one's last character (the unrelated
    // name of 64 ends in "."): tried on that name with none of its prefixes first, each hung too.
    "(\\S+\\s?)*\\w",
    "(.+)*[a-z0-9]",
  ];
  const others = ["\\w+", ".*", "^[a-z0-9.-]+\\.corp\\.example\\.com$", "vpn-gw-[0-9]+"];
  const warnings = await configWarningsWithin(60_000, withPatterns(...backtracking, ...others));
  assertEquals(
    warnings.map(({ path }) => path),
    // The narrow two last: none.
    Array.from(
      { length: backtracking.length + 2 },
      (_, index) => `openvpn.bypass_common_names[${index}]`,
    ),
  );
  backtracking.forEach((source, index) =>
    assertEquals(
      warnings[index]!.message.replace(/\d+ characters took \d+ ms/, "N characters took X ms"),
      `"${source}" backtracks badly on long names: a certificate name of N characters took X ms ` +
        "to check, which would stall the bridge at that client's CONNECT, and each character " +
        "more about doubles it. Rewrite it without nested repetition (a repeated group that " +
        "holds a repetition, such as ([a-z0-9]+-?)+), e.g. ^[a-z0-9.-]+\\.example\\.com$",
    )
  );
  // The checks go on for the patterns after: the same warnings as on their own.
  assertEquals(
    warnings.slice(backtracking.length).map(({ message }) => message),
    ["\\w+", ".*"].map((source) => parseTestConfig(withPatterns(source)).warnings[0]!.message),
  );
});
