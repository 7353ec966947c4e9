import { assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import {
  authTokenUserLine,
  linesForGroups,
  MAX_PING_SECONDS,
  validateClientConfigLine,
  withSessionTimeout,
} from "../../../src/policy/client_config.ts";
import { splitOptionWords } from "../../../src/policy/_option_words.ts";

Deno.test("validateClientConfigLine() accepts client-specific directives", () => {
  const lines = [
    'push "route 10.10.0.0 255.255.0.0"',
    'push "dhcp-option DNS 10.10.0.53"',
    "push 'redirect-gateway def1'",
    'push "route\\ 10.0.0.0"',
    "push-reset",
    'push-remove "route"',
    "ifconfig-push 10.8.0.10 255.255.255.0",
    "ifconfig-ipv6-push fd00::10/64",
    "iroute 192.168.50.0 255.255.255.0",
    "iroute-ipv6 fd00:50::/64",
    "vlan-pvid 20",
    "inactive 3600",
    "session-timeout 28800",
    "ping 10",
    "ping-restart 60",
    "echo hello",
    '  push "route 10.0.0.0 255.0.0.0"  ',
    `push "${"a".repeat(247)}"`,
  ];
  for (const line of lines) assertEquals(validateClientConfigLine(line), undefined, line);
});

Deno.test("validateClientConfigLine() refuses dangerous or malformed lines", () => {
  const cases: Array<[string, string]> = [
    ['push "route 10.0.0.0"\r\nclient-deny 0 1 "x"', "control characters"],
    ["push-reset\n", "control characters"],
    ['push\t"route 10.0.0.0"', "control characters"],
    ["push-reset\u0000", "control characters"],
    [`push "${"a".repeat(250)}"`, "too long"],
    [`push "${"é".repeat(126)}"`, "too long"],
    ["END", "END"],
    [" END ", "END"],
    ["", "no directive"],
    ["   ", "no directive"],
    ["# a comment", "no directive"],
    ["config /etc/passwd", "reads a file"],
    ["disable", "authorization rules"],
    ["auth-token-user YWxpY2U=", "auth tokens"],
    ["override-username admin", "username"],
    ["compress lz4", "compression"],
    ["comp-lzo yes", "compression"],
    ["cipher AES-128-CBC", "cipher"],
    ["client-connect /bin/sh", "not allowed in a client-auth block"],
    ['--push "route 1.2.3.4"', "not allowed in a client-auth block"],
    ["route 10.0.0.0 255.0.0.0", "not allowed in a client-auth block"],
    ['PUSH "route 10.0.0.0"', "not allowed in a client-auth block"],
    ['push "route 10.0.0.0', "No closing quotation"],
    ["push 'route", "No closing quotation"],
    ['push "route\\x"', "Bad backslash"],
    ["push route 10.0.0.0", "one quoted argument"],
    ["push", "one quoted argument"],
    ['push-remove "route" "x"', "one quoted argument"],
    ['push "auth-token-user YWxpY2U="', "auth-token-user"],
    ['push "auth-token SESS_ID_AT_x"', "auth-token"],
    ['push ""', "empty"],
  ];
  for (const [line, message] of cases) {
    const error = validateClientConfigLine(line);
    assertEquals(typeof error, "string", `accepted: ${JSON.stringify(line)}`);
    assertStringIncludes(error ?? "", message, JSON.stringify(line));
  }
});
Deno.test("validateClientConfigLine() refuses a pushed option with a comma, which OpenVPN drops at every connect", () => {
  const lines = [
    'push "route 10.1.0.0 255.255.0.0,route 10.2.0.0 255.255.0.0"',
    'push "dhcp-option DOMAIN-SEARCH corp.example.com,example.com"',
    "push 'route 10.1.0.0 255.255.0.0,'",
    'push ","',
  ];
  for (const line of lines) {
    assertEquals(
      validateClientConfigLine(line),
      "OpenVPN refuses commas in pushed options: use one push line per option",
      line,
    );
  }
});

Deno.test("validateClientConfigLine() refuses ping, ping-exit and ping-restart beyond a day, set or pushed: OpenVPN 2.7.6 ignores them", () => {
  assertEquals(MAX_PING_SECONDS, 86_400);
  const accepted = [
    "ping 0",
    `ping ${MAX_PING_SECONDS}`,
    `ping-exit ${MAX_PING_SECONDS}`,
    `ping-restart ${MAX_PING_SECONDS}`,
    `push "ping-restart ${MAX_PING_SECONDS}"`,
    'push "ping 10"',
  ];
  for (const line of accepted) assertEquals(validateClientConfigLine(line), undefined, line);
  const refused: Array<[string, string]> = [
    [`ping ${MAX_PING_SECONDS + 1}`, 'Directive "ping"'],
    [`ping-exit ${MAX_PING_SECONDS + 1}`, 'Directive "ping-exit"'],
    ["ping-restart 604800", 'Directive "ping-restart"'],
    ["ping-restart 99999999999999999999", 'Directive "ping-restart"'],
    // 2.6 reads these as 60 and -1 (atoi); 2.7.6 cannot parse them and ignores them.
    ["ping-restart 60s", 'Directive "ping-restart"'],
    ["ping -1", 'Directive "ping"'],
    ["ping", 'Directive "ping"'],
    ["ping 10 20", 'Directive "ping"'],
    [`push "ping-restart ${MAX_PING_SECONDS + 1}"`, 'Pushed option "ping-restart"'],
    ['push "ping 1e5"', 'Pushed option "ping"'],
  ];
  for (const [line, what] of refused) {
    assertEquals(
      validateClientConfigLine(line),
      `${what} takes one number of seconds from 0 to 86400: OpenVPN 2.7 ignores any other value`,
      line,
    );
  }
});

Deno.test("splitOptionWords() splits like OpenVPN's config lexer", () => {
  const cases: Array<[string, string[]]> = [
    ['push "route 10.0.0.0 255.0.0.0"', ["push", "route 10.0.0.0 255.0.0.0"]],
    ["push 'a \\ b'", ["push", "a \\ b"]],
    ['echo a\\ b "c\\"d" e\\\\f', ["echo", "a b", 'c"d', "e\\f"]],
    ["echo a#b ;c", ["echo", "a#b"]],
    ['echo ""', ["echo", ""]],
    ["  ", []],
  ];
  for (const [line, words] of cases) {
    assertEquals(splitOptionWords(line), { words }, line);
  }
});

Deno.test("linesForGroups() unions matching rules in config order without duplicates", () => {
  const rules = [
    { groups: ["vpn-users"], lines: ['push "route 10.1.0.0 255.255.0.0"', "push-reset"] },
    { groups: ["/staff/vpn-admins"], lines: ['push "route 10.2.0.0 255.255.0.0"', "push-reset"] },
    { groups: ["vpn-admins"], lines: ['push "route 10.3.0.0 255.255.0.0"'] },
    { groups: [], lines: ['push "route 10.4.0.0 255.255.0.0"'] },
    {
      groups: ["nobody", "/vpn-users"],
      lines: ['push "route 10.1.0.0 255.255.0.0"', "inactive 60"],
    },
  ];
  assertEquals(linesForGroups(rules, ["/vpn-users", "/staff/vpn-admins"]), [
    'push "route 10.1.0.0 255.255.0.0"',
    "push-reset",
    'push "route 10.2.0.0 255.255.0.0"',
    "inactive 60",
  ]);
  // /other/vpn-admins must not pick up the rule for the bare name vpn-admins.
  assertEquals(linesForGroups(rules, ["/other/vpn-admins"]), []);
  assertEquals(linesForGroups(rules, ["vpn-admins"]), ['push "route 10.3.0.0 255.255.0.0"']);
  assertEquals(linesForGroups([], ["/vpn-users"]), []);
});

Deno.test("authTokenUserLine() pushes the base64 of the UTF-8 username", () => {
  assertEquals(authTokenUserLine("alice"), 'push "auth-token-user YWxpY2U="');
  assertEquals(authTokenUserLine("jörg"), 'push "auth-token-user asO2cmc="');
  const longest = authTokenUserLine("a".repeat(127));
  assertEquals(validateClientConfigLine(longest)?.includes("auth-token-user"), true);
  assertEquals(longest.length <= 256, true);
});

Deno.test("authTokenUserLine() refuses usernames a client could not decode", () => {
  assertThrows(() => authTokenUserLine(""), RangeError, "empty");
  assertThrows(() => authTokenUserLine("a\nb"), RangeError, "control characters");
  assertThrows(() => authTokenUserLine("a".repeat(128)), RangeError, "too long");
  assertThrows(() => authTokenUserLine("é".repeat(64)), RangeError, "too long");
});

Deno.test("withSessionTimeout() ends the lines with the rest of the lifetime in whole seconds, an admin's shorter session-timeout kept, one line in all", () => {
  const route = 'push "route 10.1.0.0 255.255.0.0"';
  assertEquals(withSessionTimeout([route], 3_600_000), [route, "session-timeout 3600"]);
  // Rounded up, and never 0 (OpenVPN takes 0 as no timeout).
  assertEquals(withSessionTimeout([], 1_500), ["session-timeout 2"]);
  assertEquals(withSessionTimeout([], 0), ["session-timeout 1"]);
  assertEquals(withSessionTimeout([], -5_000), ["session-timeout 1"]);
  // The admin's own: the shorter wins, and it is the one line sent.
  assertEquals(withSessionTimeout(["session-timeout 600", route], 3_600_000), [
    route,
    "session-timeout 600",
  ]);
  assertEquals(withSessionTimeout([route, "session-timeout 86400"], 3_600_000), [
    route,
    "session-timeout 3600",
  ]);
});

Deno.test("validateClientConfigLine() takes session-timeout with one plain number only: OpenVPN's atoi and the bridge must read the same", () => {
  assertEquals(validateClientConfigLine("session-timeout 3600"), undefined);
  for (
    const line of [
      "session-timeout 3600s",
      "session-timeout 1e3",
      "session-timeout 600 extra",
      "session-timeout",
      "session-timeout -5",
    ]
  ) {
    assertEquals(
      validateClientConfigLine(line),
      'Directive "session-timeout" takes one number of seconds: session-timeout 3600',
      line,
    );
  }
});
