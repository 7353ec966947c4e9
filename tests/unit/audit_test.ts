import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { audit, type AuditSubject, auditSubject, MAX_VALUE_BYTES } from "../../src/audit.ts";
import { configureLogging } from "../../src/log.ts";
import { captureStderr } from "../support/stderr_capture.ts";

function captured(run: () => void): string[] {
  const capture = captureStderr();
  try {
    run();
  } finally {
    capture.restore();
  }
  return capture.lines();
}

const WHO = {
  server: "default",
  cid: 4,
  commonName: "alice-laptop",
  clientIp: "198.51.100.7",
  username: "alice",
  subject: "f3a1",
};

Deno.test("audit() writes one JSON line under its own category with who, where and why", () => {
  configureLogging("info", "json");
  const lines = captured(() => audit("denied", WHO, "group"));
  assertEquals(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assertEquals(record.logger, "openvpn-auth-oidc.audit");
  assertEquals(record.level, "INFO");
  assertEquals(record.properties, {
    event: "denied",
    username: "alice",
    subject: "f3a1",
    server: "default",
    cid: 4,
    commonName: "alice-laptop",
    clientIp: "198.51.100.7",
    reason: "group",
    sessionId: null,
    browserIp: null,
    clientPort: null,
    virtualIp: null,
    virtualIp6: null,
    durationSec: null,
    bytesReceived: null,
    bytesSent: null,
  });
});

Deno.test("audit() text lines name the event, the user and the reason", () => {
  configureLogging("info", "text");
  const [line] = captured(() => audit("session_ended", WHO, "recheck_failed"));
  assertStringIncludes(line!, "openvpn-auth-oidc·audit");
  assertStringIncludes(
    line!,
    'session ended "alice" (subject "f3a1") on "default" cid 4, certificate "alice-laptop", from "198.51.100.7": "recheck_failed"',
  );
});

Deno.test("audit() names a client without a certificate in words, not as a name, and its JSON commonName is empty, as an unknown one's", () => {
  configureLogging("info", "text");
  const [none] = captured(() => audit("denied", { ...WHO, commonName: "" }, "group"));
  assertStringIncludes(none!, 'cid 4, certificate (no certificate), from "198.51.100.7"');
  // A certificate its CA named so is a name like any other: quoted.
  const named = { ...WHO, commonName: "(no certificate)" };
  const [odd] = captured(() => audit("denied", named, "group"));
  assertStringIncludes(odd!, 'cid 4, certificate "(no certificate)", from "198.51.100.7"');
  configureLogging("info", "json");
  const json = (commonName: string | undefined) => {
    const [line] = captured(() => audit("denied", { ...WHO, commonName }, "group"));
    const { message, properties } = JSON.parse(line!);
    return { message: message.includes("(no certificate)"), commonName: properties.commonName };
  };
  assertEquals(json(""), { message: true, commonName: "" });
  assertEquals(json(undefined), { message: false, commonName: "" });
  assertEquals(json("(no certificate)"), { message: true, commonName: "(no certificate)" });
});

Deno.test("audit lines are written even when the log level hides info", () => {
  configureLogging("error", "json");
  const lines = captured(() => audit("admitted", WHO));
  assertEquals(lines.length, 1);
});

// A session record carries the user's tokens; session_end.ts builds its audit line from one.
const SESSION = {
  sessionId: "s-1",
  server: "default",
  cid: 4,
  commonName: "alice-laptop",
  clientIp: "198.51.100.7",
  username: "alice",
  subject: "f3a1",
  refreshToken: "rt-secret-1",
  accessToken: "at-secret-2",
  idToken: "id-secret-3",
};

Deno.test("auditSubject() keeps who and where only, never a token of the session it is made from", () => {
  assertEquals(auditSubject(SESSION, SESSION), { ...WHO, sessionId: "s-1", browserIp: undefined });
});

Deno.test("audit() writes the named properties only, whatever else its subject carries", () => {
  configureLogging("info", "json");
  const [line] = captured(() => audit("session_ended", SESSION as AuditSubject, "logout"));
  for (const secret of ["rt-secret-1", "at-secret-2", "id-secret-3"]) {
    assertEquals(line!.includes(secret), false, `audit line leaks ${secret}: ${line}`);
  }
  // The keys of any line (README lists them: readme_audit_fields_test).
  const [plain] = captured(() => audit("session_ended", WHO, "logout"));
  assertEquals(
    Object.keys(JSON.parse(line!).properties),
    Object.keys(JSON.parse(plain!).properties),
  );
});

Deno.test("auditSubject() takes the address OpenVPN reports now over the one the user signed in from", () => {
  const where = { server: "default", cid: 9, commonName: "alice-laptop" };
  const who = { username: "alice", subject: "f3a1", clientIp: "203.0.113.9" };
  assertEquals(auditSubject({ ...where, clientIp: "198.51.100.7" }, who).clientIp, "198.51.100.7");
  assertEquals(auditSubject({ ...where, clientIp: "" }, who).clientIp, "203.0.113.9");
  assertEquals(auditSubject(where).clientIp, "");
});

Deno.test("audit() writes an unknown cid as null, not as cid 0 (a real client's id)", () => {
  configureLogging("info", "json");
  const [line] = captured(() => audit("denied", { ...WHO, cid: undefined }, "timeout"));
  assertEquals(JSON.parse(line!).properties.cid, null);
});

Deno.test("audit() text lines of an admission with a reason name the certificate and the reason, no user", () => {
  configureLogging("info", "text");
  const bypassed = { ...WHO, username: "", subject: "", commonName: "gw-1" };
  const [line] = captured(() => audit("admitted", bypassed, "bypass"));
  assertStringIncludes(
    line!,
    'admitted certificate "gw-1" on "default" cid 4, from "198.51.100.7": "bypass"',
  );
});

Deno.test("audit() text lines of a tunnel that is up name its VPN addresses and the client's port", () => {
  configureLogging("info", "text");
  const details = { clientPort: 50123, virtualIp: "10.8.0.23", virtualIp6: "fd00::23" };
  const [line] = captured(() => audit("established", WHO, undefined, details));
  assertStringIncludes(
    line!,
    'established "alice" (subject "f3a1") on "default" cid 4, certificate "alice-laptop", from ' +
      '"198.51.100.7" port 50123: VPN address "10.8.0.23", "fd00::23"',
  );
});

Deno.test("audit() text lines of a client that left name how long and how much", () => {
  configureLogging("info", "text");
  const details = { durationSec: 60, bytesReceived: 1000, bytesSent: 2000 };
  const [line] = captured(() => audit("client_left", WHO, undefined, details));
  assertStringIncludes(
    line!,
    'client left "alice" (subject "f3a1") on "default" cid 4, certificate "alice-laptop", from ' +
      '"198.51.100.7" after 60 s: 1000 bytes received, 2000 sent',
  );
});

Deno.test("audit() text lines of a client that left leave out what its DISCONNECT did not tell; JSON has null there, as for any fact a line lacks", () => {
  const left = (details: Record<string, number>) => {
    configureLogging("info", "text");
    const [text] = captured(() => audit("client_left", WHO, undefined, details));
    configureLogging("info", "json");
    const [json] = captured(() => audit("client_left", WHO, undefined, details));
    const { durationSec, bytesReceived, bytesSent } = JSON.parse(json!).properties;
    return {
      tail: text!.slice(text!.indexOf('"198.51.100.7"') + '"198.51.100.7"'.length),
      json: [durationSec, bytesReceived, bytesSent],
    };
  };
  assertEquals(left({ durationSec: 60 }), { tail: " after 60 s", json: [60, null, null] });
  assertEquals(left({ bytesReceived: 1000, bytesSent: 2000 }), {
    tail: ": 1000 bytes received, 2000 sent",
    json: [null, 1000, 2000],
  });
  assertEquals(left({ durationSec: 60, bytesSent: 2000 }), {
    tail: " after 60 s: 2000 bytes sent",
    json: [60, null, 2000],
  });
  assertEquals(left({ durationSec: 60, bytesReceived: 1000 }), {
    tail: " after 60 s: 1000 bytes received",
    json: [60, 1000, null],
  });
  assertEquals(left({}), { tail: "", json: [null, null, null] });
});

/** The marker a cut value ends with, for a value of `length` UTF-16 units cut to `kept`. */
const cutMarker = (length: number, kept: number) => `…(+${length - kept} chars)`;
/** The plain characters a value of `length` keeps: MAX_VALUE_BYTES less its marker's bytes. */
const keptPlain = (length: number) =>
  MAX_VALUE_BYTES - new TextEncoder().encode(cutMarker(length, 0)).length;

Deno.test("audit() cuts each string value to MAX_VALUE_BYTES and says how much more it had", () => {
  configureLogging("info", "json");
  const long = "L".repeat(30_000);
  const [line] = captured(() =>
    audit("denied", { ...WHO, username: long, subject: long }, "username_unusable")
  );
  const { properties, message } = JSON.parse(line!);
  const kept = keptPlain(30_000);
  const cut = "L".repeat(kept) + cutMarker(30_000, kept);
  assertEquals(new TextEncoder().encode(cut).length, MAX_VALUE_BYTES);
  // README's words and example (the audit log).
  assertEquals([MAX_VALUE_BYTES, cutMarker(30_000, kept)], [1024, "…(+28993 chars)"]);
  assertEquals([properties.username, properties.subject], [cut, cut]);
  assertStringIncludes(message, cut);
  // journald's LineMax: a longer line is split into entries that are no JSON.
  assert(line!.length < 48 * 1024, `a line of ${line!.length} characters`);
  assertEquals(properties.commonName, "alice-laptop");
});

Deno.test("audit() leaves a value of MAX_VALUE_BYTES plain characters whole, and never cuts a surrogate pair in two", () => {
  configureLogging("info", "json");
  const exact = "x".repeat(MAX_VALUE_BYTES);
  const [whole] = captured(() => audit("admitted", { ...WHO, username: exact }));
  assertEquals(JSON.parse(whole!).properties.username, exact);
  // 😀 is 4 bytes in UTF-8 and two UTF-16 units: the 2 bytes left after the x's hold no whole
  // one, though they would its first half (the length has 4 digits, as keptPlain's).
  const xs = keptPlain(1_000) - 2;
  const astral = "x".repeat(xs) + "😀".repeat(10);
  const [cut] = captured(() => audit("admitted", { ...WHO, username: astral }));
  assertEquals(JSON.parse(cut!).properties.username, "x".repeat(xs) + cutMarker(astral.length, xs));
});

/**
 * Characters a log line writes longer than themselves: JSON escapes a control character to six
 * bytes (`\u0001`), seven in a JSON line's message (the value is JSON text in a JSON string),
 * and printable() a zero-width or bidi one to six. A user name of 5,000 of them wrote lines of
 * 26 KiB when values were cut by characters.
 */
const HOSTILE: Array<[string, string]> = [
  ["C0 control", "\x01"],
  ["newline", "\n"],
  ["quote", '"'],
  ["backslash", "\\"],
  ["DEL", "\x7f"],
  ["C1 control", "\x9b"],
  ["zero-width space", "\u200b"],
  ["right-to-left override", "\u202e"],
  ["line separator", "\u2028"],
  ["lone surrogate", "\ud800"],
  ["tag character", "\u{e0041}"],
  ["CJK character", "\u4e00"],
];

/** The text between a value's quotes, as each place of a line writes it, of the user name. */
const WRITTEN_USERNAME: Record<"json" | "text", RegExp[]> = {
  json: [/"username":"((?:[^"\\]|\\.)*)"/, /"message":"denied \\"((?:[^\\]|\\.)*?)\\" \(subject/],
  text: [/: denied (["'`])(.*)\1 \(subject/],
};

for (const [name, character] of HOSTILE) {
  Deno.test(`audit() writes a user name of 5,000 × ${name} in at most MAX_VALUE_BYTES, JSON and text`, () => {
    const username = character.repeat(5_000);
    for (const format of ["json", "text"] as const) {
      configureLogging("info", format);
      const [line] = captured(() => audit("denied", { ...WHO, username }, "group"));
      for (const pattern of WRITTEN_USERNAME[format]) {
        const found = pattern.exec(line!);
        assert(found !== null, `${format}: no user name in ${line!.slice(0, 200)}`);
        const written = found.at(-1)!;
        const bytes = new TextEncoder().encode(written).length;
        assert(bytes <= MAX_VALUE_BYTES, `${format}: ${bytes} bytes by ${pattern}`);
        assertStringIncludes(written, " chars)", `${format}: the cut is marked`);
      }
      if (format === "json") {
        const { properties } = JSON.parse(line!);
        assertMatch(properties.username, /…\(\+\d+ chars\)$/);
        assert(properties.username.startsWith(character), "the value's start is kept");
      }
    }
  });
}

Deno.test("audit() text lines name only the facts a line has; its JSON keeps null and empty for the others", () => {
  const cases: Array<[string, () => void, string, Record<string, unknown>]> = [
    [
      "an IPv4-only pool",
      () => audit("established", WHO, undefined, { clientPort: 50123, virtualIp: "10.8.0.6" }),
      'from "198.51.100.7" port 50123: VPN address "10.8.0.6"',
      { virtualIp: "10.8.0.6", virtualIp6: null },
    ],
    [
      "no VPN address",
      () => audit("established", WHO, undefined, { clientPort: 50123 }),
      'from "198.51.100.7" port 50123: no VPN address',
      { virtualIp: null, virtualIp6: null },
    ],
    [
      "a session that ended with no client",
      () => audit("session_ended", { ...WHO, cid: undefined }, "revoked"),
      'session ended "alice" (subject "f3a1") on "default" with no client connected, ' +
      'certificate "alice-laptop", from "198.51.100.7": "revoked"',
      { cid: null },
    ],
    [
      "a denial before sign-in",
      () => audit("denied", { ...WHO, username: "", subject: "" }, "idp_unreachable"),
      'audit: denied on "default" cid 4, certificate "alice-laptop", from "198.51.100.7" ' +
      'before anyone signed in: "idp_unreachable"',
      { username: "", subject: "" },
    ],
    [
      "a REAUTH denial with no user known",
      () => audit("reauth_denied", { ...WHO, username: "", subject: "" }, "store_unavailable"),
      'audit: REAUTH denied on "default" cid 4, certificate "alice-laptop", from "198.51.100.7": ' +
      '"store_unavailable"',
      { username: "", subject: "" },
    ],
    [
      "a request without its certificate name and address",
      () =>
        audit(
          "denied",
          { ...WHO, username: "", subject: "", commonName: undefined, clientIp: "" },
          "internal_error",
        ),
      'audit: denied on "default" cid 4 before anyone signed in: "internal_error"',
      { commonName: "", clientIp: "" },
    ],
  ];
  for (const [name, write, text, fields] of cases) {
    configureLogging("info", "text");
    const [line] = captured(write);
    assertStringIncludes(line!, text, name);
    for (const absent of ["null", '""']) {
      assertEquals(line!.includes(absent), false, `${name}: ${absent} in ${line}`);
    }
    configureLogging("info", "json");
    const [json] = captured(write);
    const { properties } = JSON.parse(json!);
    for (const [key, value] of Object.entries(fields)) {
      assertEquals(properties[key], value, `${name}: ${key}`);
    }
  }
});
