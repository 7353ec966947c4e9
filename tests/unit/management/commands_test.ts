import { assertEquals, assertThrows } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import {
  clientAuth,
  clientAuthNt,
  clientDeny,
  clientHalt,
  clientKill,
  clientPendingAuth,
  holdRelease,
  ManagementArgumentError,
  maxWebAuthUrlLength,
  parseManagementVersion,
  passwordLine,
  quoteArgument,
  status3,
  version,
  webAuthExtra,
} from "../../../src/management/commands.ts";

Deno.test("clientDeny() quotes and escapes quotes and backslashes", () => {
  const command = clientDeny(3, 1, 'user "bob" \\ denied', "Access denied");
  assertEquals(command.text, 'client-deny 3 1 "user \\"bob\\" \\\\ denied" "Access denied"');
  assertEquals([command.name, command.reply], ["client-deny", "single"]);
  assertEquals(clientDeny(0, 1, "no").text, 'client-deny 0 1 "no"');
});

Deno.test("quoteArgument() keeps spaces and UTF-8 inside one quoted token", () => {
  assertEquals(quoteArgument("x", "a b\tc".replace("\t", " ")), '"a b c"');
  assertEquals(quoteArgument("x", "Zugriff verweigert: Jürgen"), '"Zugriff verweigert: Jürgen"');
});

for (const bad of ["a\rb", "a\nb", "a\u0000b", "a\tb", "a\u001bb", "a\u007fb", "a\u0085b"]) {
  Deno.test(`builders reject control character ${JSON.stringify(bad)}`, () => {
    const error = assertThrows(
      () => clientDeny(1, 1, bad),
      ManagementArgumentError,
      "control characters",
    );
    assertEquals(error.code, "control-character");
    assertThrows(() => clientDeny(1, 1, "ok", bad), ManagementArgumentError);
    assertThrows(() => clientKill(1, bad), ManagementArgumentError);
    assertThrows(() => clientHalt(1, bad), ManagementArgumentError);
    assertThrows(() => clientAuth(1, 1, [bad]), ManagementArgumentError);
    assertThrows(() => webAuthExtra(`https://x/${bad}`), ManagementArgumentError);
    assertThrows(() => passwordLine(new Secret(bad)), ManagementArgumentError);
  });
}

Deno.test("quoteArgument() allows 256 characters for the quoted token and rejects 257", () => {
  assertEquals(quoteArgument("x", "a".repeat(254)).length, 256);
  const error = assertThrows(
    () => quoteArgument("x", "a".repeat(255)),
    ManagementArgumentError,
    "256",
  );
  assertEquals(error.code, "too-long");
  // Escaping counts: 127 quotes become 254 characters plus the two quotes.
  assertEquals(quoteArgument("x", '"'.repeat(127)).length, 256);
  assertThrows(() => quoteArgument("x", '"'.repeat(128)), ManagementArgumentError);
  // Multi-byte characters count in bytes, as OpenVPN's lexer sees them.
  assertThrows(() => quoteArgument("x", "ü".repeat(128)), ManagementArgumentError);
});

Deno.test("webAuthExtra() builds WEB_AUTH:: and rejects more than 246 characters", () => {
  assertEquals(
    webAuthExtra("https://vpn.example.com/l/abc"),
    "WEB_AUTH::https://vpn.example.com/l/abc",
  );
  const longest = `https://x/${"a".repeat(236 - 10)}`;
  assertEquals(webAuthExtra(longest).length, 246);
  const error = assertThrows(() => webAuthExtra(`${longest}a`), ManagementArgumentError, "246");
  assertEquals(error.code, "too-long");
});

Deno.test("webAuthExtra() puts the flags between WEB_AUTH: and the URL, commas between them", () => {
  assertEquals(
    webAuthExtra("https://vpn.example.com/l/abc", ["external"]),
    "WEB_AUTH:external:https://vpn.example.com/l/abc",
  );
  assertEquals(
    webAuthExtra("https://vpn.example.com/l/abc", []),
    webAuthExtra("https://vpn.example.com/l/abc"),
  );
  const command = clientPendingAuth(
    0,
    1,
    webAuthExtra("http://127.0.0.1:9999/x", ["external"]),
    120,
    5,
  );
  assertEquals(
    command.text,
    'client-pending-auth 0 1 "WEB_AUTH:external:http://127.0.0.1:9999/x" 120',
  );
});

Deno.test("webAuthExtra() counts the flags toward the 246 characters: 228 of URL fit with external", () => {
  assertEquals(maxWebAuthUrlLength([]), 236);
  assertEquals(maxWebAuthUrlLength(["external"]), 228);
  const longest = `https://x/${"a".repeat(228 - 10)}`;
  assertEquals(webAuthExtra(longest, ["external"]).length, 246);
  // Fits without flags, not with them.
  assertEquals(webAuthExtra(`${longest}a`).length, 239);
  const error = assertThrows(
    () => webAuthExtra(`${longest}a`, ["external"]),
    ManagementArgumentError,
    "WEB_AUTH extra is 247 characters, clients accept 246",
  );
  assertEquals(error.code, "too-long");
});

Deno.test("webAuthExtra() refuses a flag the bridge does not send: no : or , can get in, none twice", () => {
  for (
    const flags of [
      ["external:https://evil.example"],
      ["external,hidden"],
      ["hidden"],
      ["proxy"],
      ["External"],
      [""],
      ["external", "external"],
      ["external\n"],
    ]
  ) {
    const error = assertThrows(
      () => webAuthExtra("https://vpn.example.com/l/abc", flags),
      ManagementArgumentError,
      "Invalid WEB_AUTH flags",
    );
    assertEquals(error.code, "invalid-flag", JSON.stringify(flags));
  }
});

Deno.test("clientPendingAuth() escapes the extra with flags as without: one quoted argument", () => {
  const extra = webAuthExtra('https://x/a"b\\c d', ["external"]);
  assertEquals(extra, 'WEB_AUTH:external:https://x/a"b\\c d');
  assertEquals(
    clientPendingAuth(4, 2, extra, 60, 5).text,
    'client-pending-auth 4 2 "WEB_AUTH:external:https://x/a\\"b\\\\c d" 60',
  );
});

Deno.test("clientPendingAuth() uses the 4-argument form for management version 5 (OpenVPN 2.6.2+)", () => {
  const command = clientPendingAuth(0, 1, webAuthExtra("http://127.0.0.1:9999/x"), 120, 5);
  assertEquals(command.text, 'client-pending-auth 0 1 "WEB_AUTH::http://127.0.0.1:9999/x" 120');
  assertEquals(clientPendingAuth(2, 3, "X", 60, 6).text, 'client-pending-auth 2 3 "X" 60');
});

Deno.test("clientPendingAuth() uses the older forms for management versions 4 (2.6.0/2.6.1) and 3 (2.5)", () => {
  assertEquals(clientPendingAuth(2, 3, "X", 60, 4).text, 'client-pending-auth 2 "X" 60');
  assertEquals(clientPendingAuth(2, 3, "X", 60, 3).text, 'client-pending-auth 2 "X"');
  const error = assertThrows(
    () => clientPendingAuth(2, 3, "X", 60, 2),
    ManagementArgumentError,
    "version 3",
  );
  assertEquals(error.code, "unsupported-version");
});

Deno.test("clientPendingAuth() rejects a bad timeout", () => {
  for (const timeout of [0, -1, 1.5, Number.NaN]) {
    assertThrows(
      () => clientPendingAuth(1, 1, "X", timeout, 5),
      ManagementArgumentError,
      "timeout",
    );
  }
});

Deno.test("builders reject ids that are not non-negative safe integers", () => {
  for (const id of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    const error = assertThrows(() => clientAuthNt(id, 1), ManagementArgumentError, "client id");
    assertEquals(error.code, "invalid-id");
    assertThrows(() => clientAuthNt(1, id), ManagementArgumentError, "key id");
    assertThrows(() => clientKill(id), ManagementArgumentError);
  }
  assertEquals(clientAuthNt(0, 3).text, "client-auth-nt 0 3");
});

Deno.test("clientAuth() builds the block ending in END and validates each config line", () => {
  const command = clientAuth(0, 1, [
    'push "route 10.0.0.0 255.0.0.0"',
    'push "auth-token-user YWxpY2U="',
  ]);
  assertEquals(
    command.text,
    'client-auth 0 1\npush "route 10.0.0.0 255.0.0.0"\npush "auth-token-user YWxpY2U="\nEND',
  );
  assertEquals(clientAuth(4, 2, []).text, "client-auth 4 2\nEND");
  const end = assertThrows(() => clientAuth(0, 1, ["END"]), ManagementArgumentError, "END");
  assertEquals(end.code, "reserved-line");
  assertThrows(() => clientAuth(0, 1, [" END "]), ManagementArgumentError);
  assertThrows(() => clientAuth(0, 1, ['push "a"\nEND']), ManagementArgumentError);
  assertEquals(
    clientAuth(0, 1, ["x".repeat(254)]).text.length,
    "client-auth 0 1\n".length + 254 + 4,
  );
  assertThrows(() => clientAuth(0, 1, ["x".repeat(255)]), ManagementArgumentError, "254");
});

Deno.test("clientKill() quotes the optional message", () => {
  assertEquals(clientKill(7).text, "client-kill 7");
  assertEquals(clientKill(7, "HALT").text, 'client-kill 7 "HALT"');
});

Deno.test("clientHalt() sends the reason after HALT, quoted and escaped, within one parameter", () => {
  const command = clientHalt(7, 'Your account does not have the required attribute "x\\y"');
  assertEquals(
    command.text,
    'client-kill 7 "HALT,Your account does not have the required attribute \\"x\\\\y\\""',
  );
  assertEquals([command.name, command.reply], ["client-kill", "single"]);
  // The token is `"HALT,<reason>"`: 5 bytes of the 256 a parameter holds go to `HALT,`.
  assertEquals(clientHalt(7, "x".repeat(249)).text.length, 'client-kill 7 "HALT,"'.length + 249);
  const error = assertThrows(() => clientHalt(7, "x".repeat(250)), ManagementArgumentError);
  assertEquals(error.code, "too-long");
  assertThrows(() => clientHalt(-1, "x"), ManagementArgumentError);
});

Deno.test("clientHalt() refuses a reason the client would read as flags", () => {
  // push.c reads `[P]`, `[N]` after `HALT,` as flags, not as text to show.
  const error = assertThrows(() => clientHalt(7, "[N] try again"), ManagementArgumentError);
  assertEquals(error.code, "reserved-prefix");
  assertEquals(clientHalt(7, "Try again [N]").text, 'client-kill 7 "HALT,Try again [N]"');
});

Deno.test("fixed commands carry their reply kind", () => {
  assertEquals([version().text, version().reply], ["version", "multi"]);
  assertEquals([status3().text, status3().reply], ["status 3", "status"]);
  assertEquals([holdRelease().text, holdRelease().reply], ["hold release", "single"]);
});

Deno.test("passwordLine() sends the raw password with a line end", () => {
  assertEquals(passwordLine(new Secret('p a"ss\\')), 'p a"ss\\\n');
});

Deno.test("passwordLine() allows a line of 768 bytes with its line end and rejects one byte more", () => {
  // OpenVPN clears its command buffer past 768 bytes: the prompt would come again and the
  // password read as wrong, where the configured value is what is wrong.
  assertEquals(passwordLine(new Secret("p".repeat(767))).length, 768);
  const error = assertThrows(
    () => passwordLine(new Secret("p".repeat(768))),
    ManagementArgumentError,
    "767",
  );
  assertEquals(error.code, "too-long");
  // Bytes, not characters: 384 two-byte characters and the line end are 769 bytes.
  assertThrows(() => passwordLine(new Secret("ü".repeat(384))), ManagementArgumentError);
});

Deno.test("parseManagementVersion() reads the version reply", () => {
  assertEquals(
    parseManagementVersion(["OpenVPN Version: OpenVPN 2.6.14", "Management Version: 5"]),
    5,
  );
  assertEquals(parseManagementVersion(["OpenVPN Version: x"]), undefined);
});
