/**
 * The back-channel logout route as the IdP sees it: 200 + no-store on success, 503 + JSON
 * while the session store is unreachable or failing (the logout is kept), 400 + JSON for
 * everything else, never a page or a redirect.
 */
import { assert, assertEquals, assertMatch, assertNotMatch } from "../../support/assert.ts";
import { getLogger } from "../../../src/log.ts";
import { createApp } from "../../../src/http/app.ts";
import { builtinLocalizedPages } from "../../../src/http/pages/mod.ts";
import { Secret } from "../../../src/config/secret.ts";
import { LogoutTokenError } from "../../../src/oidc/logout_token.ts";
import { LogoutDeferredError } from "../../../src/bridge/revocation.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { registerBackchannelLogout } from "../../../src/http/backchannel_logout.ts";
import type { HttpEnv } from "../../../src/http/serve.ts";
import { Hono } from "hono";
import { type CapturedLine, captureLogs } from "../../support/log_capture.ts";

const PATH = "/oauth2/backchannel-logout";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

function setup(outcome: (token: string) => Promise<number>, now: () => number = () => 0) {
  const received: string[] = [];
  const app = createApp({
    flow: {
      view: () => Promise.reject(new Error("unused")),
      begin: () => Promise.reject(new Error("unused")),
      complete: () => Promise.reject(new Error("unused")),
    },
    pages: builtinLocalizedPages,
    defaultLanguage: "en",
    baseUrl: new URL("http://127.0.0.1:9000"),
    secret: new Secret("0123456789abcdef0123456789abcdef"),
    confirmLogin: true,
    trustedProxies: [],
    formActionOrigins: [],
    now,
    randomToken: () => "t",
    readiness: () => ({ management: true, servers: { default: true }, idp: true }),
    backchannelLogout: (token) => {
      received.push(token);
      return outcome(token);
    },
    log: getLogger("test"),
  });
  /** Posts `logout_token=<token>` as an IdP does. */
  const postToken = (token: string) =>
    app.request(PATH, { method: "POST", headers: FORM, body: `logout_token=${token}` });
  return { app, received, postToken };
}

async function expectRefusal(response: Response, error = "invalid_request"): Promise<void> {
  assertEquals(response.status, 400);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertMatch(response.headers.get("content-type") ?? "", /^application\/json/);
  assertEquals(response.headers.get("location"), null);
  assertEquals((await response.json()).error, error);
}

Deno.test("backchannel logout: a valid token gets 200 with Cache-Control no-store", async () => {
  const t = setup(() => Promise.resolve(2));
  const response = await t.postToken("eyJ.payload.sig");
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertEquals(t.received, ["eyJ.payload.sig"]);
});

Deno.test("backchannel logout: a valid token that ends no session still gets 200", async () => {
  const t = setup(() => Promise.resolve(0));
  const response = await t.postToken("x");
  assertEquals(response.status, 200);
});

Deno.test("backchannel logout: an invalid token gets 400 invalid_request in JSON", async () => {
  const t = setup(() => Promise.reject(new LogoutTokenError("Logout token rejected: aud")));
  await expectRefusal(
    await t.postToken("x"),
  );
});

Deno.test("backchannel logout: an internal failure gets 400 server_error in JSON, not a page", async () => {
  const t = setup(() => Promise.reject(new Error("store closed")));
  await expectRefusal(
    await t.postToken("x"),
    "server_error",
  );
});

Deno.test("backchannel logout: a store that cannot be reached gets 503 temporarily_unavailable in JSON with no-store, not 400 (the token was good)", async () => {
  const t = setup(() =>
    Promise.reject(new StoreUnavailableError("Session store unreachable: connection refused"))
  );
  const response = await t.postToken("eyJ.payload.sig");
  assertEquals(response.status, 503);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertMatch(response.headers.get("content-type") ?? "", /^application\/json/);
  assertEquals(response.headers.get("location"), null);
  const body = await response.json();
  assertEquals(body.error, "temporarily_unavailable");
  assert(!/eyJ|refused/.test(body.error_description), body.error_description);
});

Deno.test("backchannel logout: a logout the store failed otherwise, and kept (LogoutDeferredError), gets 503 temporarily_unavailable too, not 400 server_error", async () => {
  const t = setup(() =>
    Promise.reject(
      new LogoutDeferredError("Back-channel logout not carried out, kept: database is locked"),
    )
  );
  const response = await t.postToken("eyJ.payload.sig");
  assertEquals(response.status, 503);
  assertEquals(response.headers.get("cache-control"), "no-store");
  const body = await response.json();
  assertEquals(body.error, "temporarily_unavailable");
  assert(!/eyJ|locked/.test(body.error_description), body.error_description);
});

const malformed: Array<[string, RequestInit]> = [
  ["no logout_token", { method: "POST", headers: FORM, body: "other=1" }],
  ["an empty logout_token", { method: "POST", headers: FORM, body: "logout_token=" }],
  ["two logout_tokens", { method: "POST", headers: FORM, body: "logout_token=a&logout_token=b" }],
  ["a JSON body", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"logout_token":"a"}',
  }],
  ["no content type", { method: "POST", body: new Uint8Array([1, 2]) }],
  ["a body over 16 KiB", {
    method: "POST",
    headers: FORM,
    body: `logout_token=${"a".repeat(17 * 1024)}`,
  }],
];

for (const [name, init] of malformed) {
  Deno.test(`backchannel logout: ${name} gets 400 and reaches no validation`, async () => {
    const t = setup(() => Promise.resolve(1));
    await expectRefusal(await t.app.request(PATH, init));
    assertEquals(t.received, []);
  });
}

Deno.test("backchannel logout: a refusal's body echoes neither the token nor why it failed", async () => {
  const token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzZWNyZXQtc3ViIn0.sig";
  for (const error of [new LogoutTokenError(`Logout token rejected: ${token}`), new Error(token)]) {
    const t = setup(() => Promise.reject(error));
    const response = await t.postToken(token);
    assertEquals(response.status, 400);
    const body = await response.text();
    assert(!/eyJ|secret-sub|sig|rejected/.test(body), body);
  }
});

/** The log records of the refused logout tokens, by level. */
function refusals(lines: CapturedLine[], level: string): CapturedLine[] {
  return lines.filter((line) => line.level === level && line.text.includes("logout refused"));
}

Deno.test("backchannel logout: a flood of invalid tokens logs one warning, the rest at debug, and a valid logout still works", async () => {
  let valid = false;
  const t = setup(() =>
    valid ? Promise.resolve(1) : Promise.reject(new LogoutTokenError("Logout token rejected: aud"))
  );
  const capture = captureLogs();
  try {
    for (let i = 0; i < 100; i++) await expectRefusal(await t.postToken(`forged${i}`));
    const warnings = refusals(capture.lines, "warning");
    assert(warnings.length <= 1, `${warnings.length} warnings`);
    assertEquals(refusals(capture.lines, "debug").length, 99);
    valid = true;
    const response = await t.postToken("eyJ.payload.sig");
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("cache-control"), "no-store");
    assertEquals(t.received.length, 101);
  } finally {
    capture.stop();
  }
});

Deno.test("backchannel logout: the app times the refusal warnings by its own clock, not the system's", async () => {
  let now = 0;
  const { postToken } = setup(
    () => Promise.reject(new LogoutTokenError("Logout token rejected: aud")),
    () => now,
  );
  const capture = captureLogs();
  try {
    for (let i = 0; i < 3; i++) {
      await expectRefusal(await postToken("forged"));
      now += 2 * 60_000;
    }
    assertEquals(refusals(capture.lines, "warning").length, 3);
  } finally {
    capture.stop();
  }
});

Deno.test("backchannel logout: the next warning after the interval counts the refusals logged at debug", async () => {
  let now = 0;
  const app = new Hono<{ Bindings: HttpEnv }>();
  registerBackchannelLogout(app, {
    logout: () => Promise.reject(new LogoutTokenError("Logout token rejected: aud")),
    log: getLogger("test"),
    now: () => now,
  });
  const post = () =>
    app.request(PATH, { method: "POST", headers: FORM, body: "logout_token=forged" });
  const capture = captureLogs();
  try {
    for (let i = 0; i < 5; i++) await expectRefusal(await post());
    now += 59_999;
    await expectRefusal(await post());
    assertEquals(refusals(capture.lines, "warning").length, 1);
    now += 1;
    await expectRefusal(await post());
    const warnings = refusals(capture.lines, "warning");
    assertEquals(warnings.length, 2);
    assertNotMatch(warnings[0]!.text, /\bmore\b/);
    assertEquals(warnings[1]!.properties.more, 5);
    assertMatch(warnings[1]!.text, /\b5 more\b/);
    assertEquals(refusals(capture.lines, "debug").length, 5);
  } finally {
    capture.stop();
  }
});

Deno.test("backchannel logout: the log of a refused, failed or deferred logout never holds the token", async () => {
  const token = "eyJhbGciOiJSUzI1NiJ9.eyJzaWQiOiJzZWNyZXQtc2lkIn0.c2lnbmF0dXJl";
  const errors = [
    new LogoutTokenError("Logout token rejected: aud"),
    new Error("store closed"),
    new StoreUnavailableError("Session store unreachable: connection refused"),
    new LogoutDeferredError("Back-channel logout not carried out, kept: database is locked"),
  ];
  const capture = captureLogs();
  try {
    for (const error of errors) {
      const t = setup(() => Promise.reject(error));
      // Twice: a refusal is warned about first, then logged at debug.
      for (let i = 0; i < 2; i++) await (await t.postToken(token)).body?.cancel();
    }
    assertEquals(refusals(capture.lines, "warning").length, 1);
    assertEquals(refusals(capture.lines, "debug").length, 1);
    for (const line of capture.lines) {
      const logged = line.text + JSON.stringify(line.properties);
      assert(!/eyJ|c2lnbmF0dXJl/.test(logged), logged);
    }
  } finally {
    capture.stop();
  }
});
