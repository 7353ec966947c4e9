/**
 * The logs' second line of defence (src/log_mask.ts): credential-like property names at any
 * depth, an Error's cause and properties, a URL's password; in the text and JSON output alike.
 */
import { assert, assertEquals, assertStrictEquals } from "../support/assert.ts";
import { getLogger } from "../../src/log.ts";
import { maskSensitive, maskUrlPasswords } from "../../src/log_mask.ts";
import { linesLogged } from "../support/stderr_capture.ts";

/** Names whose values are masked: credentials, and capabilities that finish a sign-in. */
const SENSITIVE_NAMES = [
  "password",
  "passwd",
  "pw",
  "pwd",
  "redisPw",
  "client_secret",
  "refreshToken",
  "id_token",
  "cookie",
  "authorization",
  "x-api-key",
  "apiKey",
  "api_key",
  "credentials",
  "client_assertion",
  "jwt",
  "private_key",
  "privateKey",
  "sessionKey",
  "nonce",
  "code",
  "authCode",
  "auth_code",
  "codeVerifier",
  "verifier",
  "pkce",
  "state",
  "oauthState",
  "binding",
  "csrf",
];

/** Names the code logs, whose values must stay readable. */
const KEPT_NAMES = [
  "cid",
  "kid",
  "commonName",
  "username",
  "user",
  "sessionId",
  "session_id",
  "sid",
  "sub",
  "key",
  "keys",
  "claims",
  "hint",
  "stateTag",
  "states",
  "statement",
  "denialCode",
  "statusCode",
  "address",
  "reason",
  "event",
  "error",
];

/** A value no other test line holds, to search the output for. */
const markerOf = (name: string) => `m4sk-${name.replace(/[^a-z]/gi, "")}-v4lue`;

Deno.test("maskSensitive() masks each credential-like name and keeps the names the code logs", () => {
  for (const name of SENSITIVE_NAMES) {
    assertEquals(maskSensitive({ [name]: "v" }), { [name]: "***" }, name);
    assertEquals(maskSensitive({ outer: [{ [name]: "v" }] }), { outer: [{ [name]: "***" }] }, name);
  }
  for (const name of KEPT_NAMES) {
    const properties = { [name]: "v" };
    assertStrictEquals(maskSensitive(properties), properties, name);
  }
});

Deno.test("maskSensitive() masks credential-like properties and keeps the rest", () => {
  const properties = {
    username: "alice",
    password: "hunter2",
    client_secret: "s",
    refreshToken: "rt",
    cookie: "c",
    codeVerifier: "v",
    cid: 4,
  };
  assertEquals(maskSensitive(properties), {
    username: "alice",
    password: "***",
    client_secret: "***",
    refreshToken: "***",
    cookie: "***",
    codeVerifier: "***",
    cid: 4,
  });
  assertEquals(properties.password, "hunter2");
});

Deno.test("maskSensitive() returns the same object when nothing is sensitive", () => {
  const properties = { cid: 1, commonName: "alice", address: "https://vpn.example.com/login" };
  assertStrictEquals(maskSensitive(properties), properties);
});

Deno.test("maskSensitive() looks into arrays and deep objects, and leaves out what is nested too deep to check", () => {
  let deep: Record<string, unknown> = { token: "deep-token" };
  for (let level = 0; level < 6; level++) deep = { level: deep };
  const properties = {
    items: [{ token: "t-1", name: "a" }, "plain", [{ password: "pw" }]],
    deep,
  };
  const masked = maskSensitive(properties);
  assertEquals(masked["items"], [{ token: "***", name: "a" }, "plain", [{ password: "***" }]]);
  assertEquals(JSON.stringify(masked).includes("deep-token"), false);
  assertEquals(JSON.stringify(masked).includes('"token":"***"'), true);
  let tooDeep: unknown = { token: "hidden" };
  for (let level = 0; level < 20; level++) tooDeep = [tooDeep];
  const cut = JSON.stringify(maskSensitive({ tooDeep }));
  assertEquals(cut.includes("hidden"), false, cut);
  assertEquals(cut.includes("[nested too deep]"), true, cut);
  // Nothing sensitive anywhere: the same object, arrays and all.
  const clean = { list: [{ cid: 1 }, [2, 3]] };
  assertStrictEquals(maskSensitive(clean), clean);
});

Deno.test("maskSensitive() writes an Error as its name, message, stack, cause and properties, masked", () => {
  const error = Object.assign(
    new Error("store said no", { cause: { password: "cause-pw", detail: "kept" } }),
    { code: "E_STORE", command: { name: "auth", token: "own-token" } },
  );
  const masked = maskSensitive({ error })["error"] as Record<string, unknown>;
  assertEquals(masked["name"], "Error");
  assertEquals(masked["message"], "store said no");
  assert(String(masked["stack"]).startsWith("Error: store said no\n"), String(masked["stack"]));
  assertEquals(masked["cause"], { password: "***", detail: "kept" });
  assertEquals(masked["code"], "E_STORE");
  assertEquals(masked["command"], { name: "auth", token: "***" });
  // A cause that is an Error in turn, and an AggregateError's errors.
  const chained = new AggregateError([new Error("one", { cause: { secret: "s-1" } })], "all", {
    cause: new TypeError("inner", { cause: { apiKey: "k-1" } }),
  });
  const text = JSON.stringify(maskSensitive({ chained }));
  assertEquals(/s-1|k-1/.test(text), false, text);
  assert(text.includes('"name":"TypeError"') && text.includes('"message":"one"'), text);
});

/** Credentialed URLs, as the URL parser reads them: each masked to the same URL with `***`. */
const CREDENTIALED_URLS = [
  "redis://user:pw-1@redis.example.com:6379/0",
  "rediss://:pw-2@10.0.0.5",
  "redis://user:p@ss:w0rd@[::1]:6379", // the last @ ends the user info
  "redis://us@er:pw-3@host", // the first : ends the user name
  "https://user:pw 4@idp.example.com/path?x=a@b#frag",
  "postgres://u:pw%40-5@db/name",
  // A special scheme needs no slashes, and reads a backslash as one.
  "https:user:pw-8@idp.example.com/path",
  "HTTP:u:pw-9@h",
  "ftp:/u:pw-10@h",
  "wss:\\\\u:pw-11@h",
  "https:/\\u:pw-12@h",
];

Deno.test("maskUrlPasswords() masks exactly the password a URL parser finds", () => {
  for (const text of CREDENTIALED_URLS) {
    const parsed = new URL(text);
    assert(parsed.password !== "", text);
    const masked = new URL(maskUrlPasswords(text));
    assertEquals(masked.password, "***", text);
    assertEquals([masked.username, masked.host, masked.pathname], [
      parsed.username,
      parsed.host,
      parsed.pathname,
    ], text);
  }
});

Deno.test("maskUrlPasswords() masks URLs inside text and leaves other text alone", () => {
  assertEquals(
    maskUrlPasswords("connect redis://u:pw-6@h:6379/0 failed, then rediss://:pw-7@h2 too"),
    "connect redis://u:***@h:6379/0 failed, then rediss://:***@h2 too",
  );
  assertEquals(
    maskUrlPasswords("fetch https:u:pw-13@idp/x failed; see http:a:pw-14@b/ and https:c:pw-15@d"),
    "fetch https:u:***@idp/x failed; see http:a:***@b/ and https:c:***@d",
  );
  for (
    const text of [
      "redis://redis.example.com:6379/0",
      "redis://user@redis.example.com:6379",
      "https://idp.example.com/login?hint=a:b@c",
      "https://idp.example.com#a:b@c",
      "alice@example.com: signed in",
      "mailto:alice:x@example.com",
      "xredis:u:x@h",
      "xhttps:u:x@h",
      "at file:///app/node_modules/.deno/@logtape+logtape@2.4.2/dist/logger.js:12:3",
    ]
  ) {
    assertStrictEquals(maskUrlPasswords(text), text);
  }
});

Deno.test("maskUrlPasswords() masks the password of a redis: or rediss: URL written without //", () => {
  // A path to the URL parser, but a user, a password and a host to whoever wrote it.
  for (
    const [text, masked] of [
      ["redis:u:pw-16@h", "redis:u:***@h"],
      ["rediss:/u:pw-17@h:6380/1", "rediss:/u:***@h:6380/1"],
      ["redis:///u:pw-18@h", "redis:///u:***@h"],
      ["REDIS:u:pw-19@h", "REDIS:u:***@h"],
      ["store redis:\\\\u:pw-20@h down", "store redis:\\\\u:***@h down"],
      ["redis:u@h", "redis:u@h"],
    ]
  ) {
    assertEquals(maskUrlPasswords(text!), masked, text);
  }
});

Deno.test("maskUrlPasswords() reads a scheme without // as a URL only when its authority follows at once: prose naming a scheme keeps its text", () => {
  for (
    const text of [
      "Session store redis: connect ECONNREFUSED 10.0.0.5:6379 (sessions of alice@corp.example kept)",
      "Session store REDIS:\tconnect ECONNREFUSED 10.0.0.5:6379 (alice@corp.example)",
      "IdP over https: timed out at 10:42 for bob@corp.example",
      "rediss:/ connect 10.0.0.5:6380 for alice@corp.example",
    ]
  ) {
    assertStrictEquals(maskUrlPasswords(text), text);
  }
  // After ://, a space does not stop the authority (a password may hold one).
  assertEquals(maskUrlPasswords("redis:// u:pw-21@h"), "redis:// u:***@h");
});

Deno.test("maskUrlPasswords() reads a text of many scheme names once: a client may choose it", () => {
  // Read again from each "https:", this took 24 s (every authority runs to the end).
  const text = "https:a:".repeat(50_000) + "@h";
  assertEquals(maskUrlPasswords(text), "https:a:***@h");
});

/** What one record of every kind above writes in `format`: the sensitive values a run holds. */
function logEveryKind(format: "text" | "json"): string[] {
  return linesLogged(format, false, () => {
    const log = getLogger("test");
    log.info("Names {user}", {
      user: "alice",
      ...Object.fromEntries(SENSITIVE_NAMES.map((name) => [name, markerOf(name)])),
    });
    log.info(
      "In the template: {pw} {pwd} {state} {authCode} {binding}",
      Object.fromEntries(
        ["pw", "pwd", "state", "authCode", "binding"].map((n) => [n, markerOf(n)]),
      ),
    );
    log.error("Failed: {error}", {
      error: new Error("boom", { cause: { password: "cause-pw-marker", where: "kept-where" } }),
    });
    log.info`A tagged template: ${{ token: "tagged-token-marker", kept: "kept-tagged" }}`;
    log.info("Store {url}, built {detail}", {
      url: "redis://user:url-pw-marker@redis.example.com:6379",
      detail: { error: new Error("cannot reach redis://:msg-pw-marker@h") },
    });
    log.info(`Built by the code: rediss://u:literal-pw-marker@h`);
    log.info("No slashes: {issuer} https:u:template-pw-marker@idp, {store}", {
      issuer: "https:u:no-slash-pw-marker@idp.example.com",
      store: "redis:u:redis-no-slash-marker@redis.example.com",
    });
    log.info("A URL object {target}", { target: new URL("https://u:url-object-marker@idp/") });
  });
}

const SECRET_MARKERS = [
  ...SENSITIVE_NAMES.map(markerOf),
  "cause-pw-marker",
  "tagged-token-marker",
  "url-pw-marker",
  "msg-pw-marker",
  "literal-pw-marker",
  "url-object-marker",
  "template-pw-marker",
  "no-slash-pw-marker",
  "redis-no-slash-marker",
];

for (const format of ["text", "json"] as const) {
  Deno.test(`no credential goes out in the ${format} output: names, an Error's cause, URLs`, () => {
    const lines = logEveryKind(format);
    const out = lines.join("\n");
    assertEquals(lines.length, 8, out);
    assertEquals(SECRET_MARKERS.filter((marker) => out.includes(marker)), [], out);
    for (
      const kept of [
        "alice",
        "boom",
        "kept-where",
        "kept-tagged",
        "redis.example.com",
        "cannot reach",
      ]
    ) {
      assert(out.includes(kept), `${kept} not in ${out}`);
    }
  });
}

Deno.test("an Error in the message of a JSON line is written as its name and message", () => {
  const [line] = linesLogged("json", false, () => {
    getLogger("test").error("Failed: {error}", { error: new RangeError("out of range") });
  });
  const record = JSON.parse(line!) as {
    message: string;
    properties: { error: { name: string; message: string; stack: string } };
  };
  assertEquals(record.message, 'Failed: "RangeError: out of range"');
  assertEquals(record.properties.error.name, "RangeError");
  assertEquals(record.properties.error.message, "out of range");
  assert(record.properties.error.stack.startsWith("RangeError: out of range\n"), line);
});
