import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../support/assert.ts";
import { stateTag } from "../../../src/bridge/login_flow.ts";
import { newLoginId } from "../../../src/bridge/login_url.ts";
import { CommandUndeliveredError } from "../../../src/bridge/commander.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { AuthorizationResponseError, IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";
import { logsOf } from "../../support/log_capture.ts";
import {
  appSetup,
  cookieOf,
  ID,
  openWithoutConfirm,
  PEER,
  SIGN_IN,
  STATE_1,
  T0,
} from "../../support/app_fixture.ts";

async function confirmAndContinue(
  ctx: Awaited<ReturnType<typeof appSetup>>,
  headers: Record<string, string> = {},
  id = ID,
) {
  const page = await ctx.request(`/login/${id}`, { headers });
  const cookie = cookieOf(page);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const response = await ctx.request(`/login/${id}`, {
    method: "POST",
    headers: { ...headers, cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf }),
  });
  return { response, cookie };
}

Deno.test("GET /login/:id shows what is being authorized and sets an HttpOnly binding cookie", async () => {
  const ctx = await appSetup();
  const response = await ctx.request(`/login/${ID}`);
  assertEquals(response.status, 200);
  const text = await response.text();
  assertStringIncludes(text, "alice-laptop");
  assertStringIncludes(text, "198.51.100.7");
  assertStringIncludes(text, "linux");
  assertStringIncludes(text, 'id="continue"');
  assertStringIncludes(text, "3 minutes");
  const cookie = response.headers.getSetCookie()[0] ?? "";
  assertMatch(
    cookie,
    new RegExp(`^oao-${ID}=binding-1; Max-Age=180; Path=/; HttpOnly; SameSite=Lax$`),
  );
  assertStringIncludes(
    response.headers.get("content-security-policy") ?? "",
    "frame-ancestors 'none'",
  );
  assertEquals(response.headers.get("cache-control"), "no-store");
});

Deno.test("GET /login/:id with an unknown, malformed or expired id shows the expired page", async () => {
  const ctx = await appSetup();
  for (const path of ["/login/BBBBBBBBBBBBBBBBBBBBBB", "/login/short", "/login/%3Cscript%3E"]) {
    const response = await ctx.request(path);
    assertEquals(response.status, 404, path);
    assertStringIncludes(
      await response.text(),
      "This sign-in link has expired. Reconnect your VPN to get a new one.",
    );
  }
  ctx.clock.time = T0 + 180_000;
  assertEquals((await ctx.request(`/login/${ID}`)).status, 404);
});

Deno.test("POST /login/:id with cookie and CSRF token redirects to the IdP and records the OIDC state", async () => {
  const ctx = await appSetup();
  const { response } = await confirmAndContinue(ctx);
  assertEquals(response.status, 303);
  assertEquals(
    response.headers.get("location"),
    `https://idp.example/realms/vpn/auth?state=${STATE_1}`,
  );
  const stored = await ctx.store.getPending(ID);
  assertEquals(stored?.oauth, {
    state: STATE_1,
    nonce: "nonce-1",
    codeVerifier: "verifier-1",
    browserBinding: "binding-1",
  });
});

Deno.test("a client that went away while Continue was prepared is not brought back: the link has expired", async () => {
  // DISCONNECT removes the client's pending login between the flow's read and its write.
  const ctx = await appSetup({
    duringStartLogin: (store) => store.deletePendingByCid("default", 4),
  });
  const { response } = await confirmAndContinue(ctx);
  assertEquals(response.status, 404);
  assertStringIncludes(await response.text(), "This sign-in link has expired.");
  assertEquals(await ctx.store.getPending(ID), undefined);
  assertEquals(await collectPages(ctx.store.pendingPages()), []);
});

Deno.test("POST /login/:id without the cookie or with a wrong CSRF token is refused", async () => {
  const ctx = await appSetup();
  const page = await ctx.request(`/login/${ID}`);
  const cookie = cookieOf(page);
  const noCookie = await ctx.request(`/login/${ID}`, {
    method: "POST",
    body: new URLSearchParams({ csrf: "x" }),
  });
  assertEquals(noCookie.status, 403);
  const wrongCsrf = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { cookie },
    body: new URLSearchParams({ csrf: "forged" }),
  });
  assertEquals(wrongCsrf.status, 403);
  const kept = await ctx.store.getPending(ID);
  assert(kept !== undefined, "a refused POST removed the pending login");
  assertEquals(kept.oauth, undefined);
  // Still usable: the page's own cookie and CSRF token go on to the IdP.
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  assert(csrf !== undefined, "no CSRF token on the page");
  const accepted = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf }),
  });
  assertEquals(accepted.status, 303);
  assertEquals((await ctx.store.getPending(ID))?.oauth?.state, STATE_1);
});

Deno.test("POST /login/:id with the page's cookie but an empty or missing CSRF field is refused and begins nothing", async () => {
  const ctx = await appSetup();
  const page = await ctx.request(`/login/${ID}`);
  const cookie = cookieOf(page);
  const headers = { cookie, "content-type": "application/x-www-form-urlencoded" };
  const forms: Array<[string, string]> = [
    ["empty", "csrf="],
    ["missing", ""],
    ["other field", "x=1"],
  ];
  for (const [what, body] of forms) {
    const response = await ctx.request(`/login/${ID}`, { method: "POST", headers, body });
    assertEquals(response.status, 403, what);
    assertEquals(response.headers.get("location"), null, what);
    assertEquals(await ctx.store.getPending(ID), ctx.pending(), what);
  }
  // Nothing was sent to the IdP: the page's own token begins the first login request.
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  assert(csrf !== undefined, "no CSRF token on the page");
  const accepted = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers,
    body: new URLSearchParams({ csrf }),
  });
  assertEquals(accepted.status, 303);
  assertEquals((await ctx.store.getPending(ID))?.oauth?.state, STATE_1);
});

Deno.test("the CSRF token is tied to the browser's binding cookie: another browser's token is refused", async () => {
  const ctx = await appSetup();
  const pageA = await ctx.request(`/login/${ID}`);
  const cookieA = cookieOf(pageA);
  const csrfA = /name="csrf" value="([^"]+)"/.exec(await pageA.text())?.[1];
  assert(csrfA !== undefined, "no CSRF token on browser A's page");
  // Browser B opens the same link without A's cookie and gets a binding of its own.
  const pageB = await ctx.request(`/login/${ID}`);
  const cookieB = cookieOf(pageB);
  assertEquals(cookieA, `oao-${ID}=binding-1`);
  assertEquals(cookieB, `oao-${ID}=binding-2`);
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const crossed = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { ...form, cookie: cookieB },
    body: new URLSearchParams({ csrf: csrfA }),
  });
  assertEquals(crossed.status, 403);
  const kept = await ctx.store.getPending(ID);
  assert(kept !== undefined, "a refused POST removed the pending login");
  assertEquals(kept.oauth, undefined);
  // The control: A's cookie with A's token goes on to the IdP, bound to A.
  const own = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { ...form, cookie: cookieA },
    body: new URLSearchParams({ csrf: csrfA }),
  });
  assertEquals(own.status, 303);
  const begun = (await ctx.store.getPending(ID))?.oauth;
  assertEquals(begun?.state, STATE_1);
  assertEquals(begun?.browserBinding, "binding-1");
});

Deno.test("confirm_login = false redirects to the IdP once the browser is back with its cookie", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  const { response } = await openWithoutConfirm(ctx);
  assertEquals(response.status, 303);
  assertEquals(
    response.headers.get("location"),
    `https://idp.example/realms/vpn/auth?state=${STATE_1}`,
  );
});

Deno.test("the callback of an allowed user sends client-auth with the group's lines and stores the session", async () => {
  const ctx = await appSetup();
  const { cookie } = await confirmAndContinue(ctx);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 200);
  assertStringIncludes(await response.text(), "You are connected. You can close this window.");
  assertEquals(ctx.commander.commands, [{
    kind: "auth",
    cid: 4,
    kid: 1,
    // The client sent an empty username: the token user is pushed so renegotiation works.
    // And the session's lifetime (an hour), after which OpenVPN ends the client.
    lines: [
      'push "route 10.10.0.0 255.255.0.0"',
      `push "auth-token-user ${btoa("alice")}"`,
      "session-timeout 3600",
    ],
    // Which sign-in it answers, for the link holder's check (sign_in_guard.ts).
    signIn: SIGN_IN,
  }]);
  assertEquals(
    ctx.finishCalls[0]?.url.href,
    `http://127.0.0.1:9000/oauth2/callback?code=abc&state=${STATE_1}`,
  );
  const session = await ctx.store.getSession("sess-xyz");
  assertEquals(session?.username, "alice");
  assertEquals(session?.cid, 4);
  assertEquals(session?.refreshToken, "refresh-1");
  assertEquals(session?.expiresAt, T0 + 3_600_000);
  // Marked finished for the rest of the link's life, with the binding cookie's attributes.
  assertEquals(response.headers.getSetCookie(), [
    `oao-${ID}=done; Max-Age=180; Path=/; HttpOnly; SameSite=Lax`,
  ]);
});

Deno.test("a login id of this version (with its time part) works as one made before it does", async () => {
  const ctx = await appSetup();
  const id = newLoginId(T0);
  assertEquals(id.length, 27);
  await ctx.store.putPending(ctx.pending({ id, cid: 7, sessionId: "sess-new" }));
  const { response: redirect, cookie } = await confirmAndContinue(ctx, {}, id);
  assertEquals(redirect.status, 303);
  assertEquals(cookie.startsWith(`oao-${id}=`), true, cookie);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${stateTag(id)}.state-1`, {
    headers: { cookie },
  });
  assertEquals(response.status, 200);
  assertStringIncludes(await response.text(), "You are connected. You can close this window.");
  assertEquals(ctx.commander.commands.map((c) => c.cid), [7]);
  assertEquals((await ctx.store.getSession("sess-new"))?.cid, 7);
  // The id made before the time part (ID, 22 characters) is still served.
  assertEquals((await ctx.request(`/login/${ID}`)).status, 200);
});

Deno.test("a client that sent a username gets no auth-token-user line", async () => {
  const ctx = await appSetup();
  await ctx.store.putPending(ctx.pending({ username: "alice" }));
  const { cookie } = await confirmAndContinue(ctx);
  await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, { headers: { cookie } });
  assertEquals(ctx.commander.commands[0], {
    kind: "auth",
    cid: 4,
    kid: 1,
    lines: ['push "route 10.10.0.0 255.255.0.0"', "session-timeout 3600"],
    signIn: SIGN_IN,
  });
});

Deno.test("a replayed callback is rejected and sends nothing twice", async () => {
  const ctx = await appSetup();
  const { cookie } = await confirmAndContinue(ctx);
  const first = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  // What the browser holds now: the finished mark, not the binding.
  const marked = cookieOf(first);
  assertEquals(marked, `oao-${ID}=done`);
  const replay = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie: marked },
  });
  assertEquals(replay.status, 200);
  assertStringIncludes(await replay.text(), "This sign-in is finished.");
  assertEquals(ctx.commander.commands.length, 1);
  assertEquals(ctx.finishCalls.length, 1);
  // The binding itself, replayed by whoever kept it, finds nothing either.
  const kept = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(kept.status, 404);
  assertStringIncludes(await kept.text(), "This sign-in link has expired");
  assertEquals(ctx.commander.commands.length, 1);
  assertEquals(ctx.finishCalls.length, 1);
});

Deno.test("a callback without the browser cookie is refused and the login stays usable", async () => {
  const ctx = await appSetup();
  await confirmAndContinue(ctx);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`);
  assertEquals(response.status, 400);
  assertStringIncludes(
    await response.text(),
    "Finish signing in in the browser that opened the sign-in link",
  );
  assertEquals(ctx.commander.commands, []);
  assert((await ctx.store.getPending(ID)) !== undefined);
});

Deno.test("a forged state or a foreign cookie value finds no login and consumes nothing", async () => {
  const ctx = await appSetup();
  const { cookie } = await confirmAndContinue(ctx);
  const forged = await ctx.request(`/oauth2/callback?code=abc&state=${stateTag(ID)}.state-999`, {
    headers: { cookie },
  });
  assertEquals(forged.status, 404);
  const foreign = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie: `oao-${ID}=someone-elses` },
  });
  assertEquals(foreign.status, 404);
  assertEquals(ctx.finishCalls.length, 0);
  assert((await ctx.store.getPending(ID)) !== undefined);
  // Any site can send the browser to the callback: its cookie stays, and the sign-in goes on.
  assertEquals(forged.headers.getSetCookie(), []);
  const real = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(real.status, 200);
});

Deno.test("a callback after the pending login expired shows the expired page", async () => {
  const ctx = await appSetup();
  const { cookie } = await confirmAndContinue(ctx);
  ctx.clock.time = T0 + 181_000;
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 404);
  assertEquals(ctx.commander.commands, []);
});

Deno.test("a user outside the allowed groups is denied in the browser and halted in the VPN client", async () => {
  const ctx = await appSetup({
    claims: { sub: "u-bob", preferred_username: "bob", groups: ["/other"] },
  });
  const { cookie } = await confirmAndContinue(ctx);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 403);
  const text = await response.text();
  assertStringIncludes(text, "You are not in a group allowed to use this VPN");
  // HALT with the reason: a retry would sign the same user in again (refusal.ts).
  assertEquals(ctx.commander.commands, [{
    kind: "halt",
    cid: 4,
    kid: 1,
    reason: "group",
    clientReason: "You are not in a group allowed to use this VPN",
    signIn: SIGN_IN,
  }]);
  assertEquals(await ctx.store.getSession("sess-xyz"), undefined);
});

Deno.test("an IdP's access_denied (the user cancelled) halts the client at once with a clear reason", async () => {
  const ctx = await appSetup({
    finishError: new AuthorizationResponseError("access_denied", "User cancelled"),
  });
  const { cookie } = await confirmAndContinue(ctx);
  const response = await ctx.request(`/oauth2/callback?error=access_denied&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 403);
  assertStringIncludes(
    await response.text(),
    "Login was denied or cancelled at the identity provider",
  );
  assertEquals(ctx.commander.commands[0]?.kind, "halt");
});

Deno.test("an unreachable IdP denies the client instead of leaving it hanging", async () => {
  const ctx = await appSetup({ finishError: new IdpUnreachableError("connect ECONNREFUSED") });
  const { cookie } = await confirmAndContinue(ctx);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 403);
  assertEquals(ctx.commander.commands, [{
    kind: "deny",
    cid: 4,
    kid: 1,
    reason: "idp_unreachable",
    clientReason: "Identity provider is unreachable; please try again later",
    signIn: SIGN_IN,
  }]);
});

Deno.test("client-auth failing (client gone) shows a reconnect page and keeps no session", async () => {
  const ctx = await appSetup();
  const { cookie } = await confirmAndContinue(ctx);
  ctx.commander.failWith = "ERROR: client-auth command failed";
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(response.status, 410);
  assertStringIncludes(await response.text(), "Reconnect your VPN to try again");
  assertEquals(await ctx.store.getSession("sess-xyz"), undefined);
});

Deno.test("client-auth not confirmed (no reply in time, the link dropped, the holder silent) says so in the browser's language and keeps the session: OpenVPN may still admit the client", async () => {
  const unconfirmed = [
    new CommandUndeliveredError("no holder"),
    new ManagementConnectionError("timeout", "Management command timed out after 10000 ms"),
    new ManagementConnectionError("disconnected", "Management connection lost before the reply"),
  ];
  for (
    const [language, text] of [
      ["en", "The VPN server did not confirm your connection in time"],
      ["de", "Der VPN-Server hat Ihre Verbindung nicht rechtzeitig bestätigt"],
    ]
  ) {
    for (const error of unconfirmed) {
      const ctx = await appSetup();
      const { cookie } = await confirmAndContinue(ctx);
      ctx.commander.auth = () => Promise.reject(error);
      const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
        headers: { cookie, "accept-language": language! },
      });
      assertEquals(response.status, 503);
      assertStringIncludes(await response.text(), text!);
      assertEquals((await ctx.store.getSession("sess-xyz"))?.cid, 4, error.message);
    }
  }
});

Deno.test("check_client_ip refuses a browser on another network", async () => {
  const ctx = await appSetup({ checkClientIp: true });
  await ctx.store.putPending(ctx.pending({ clientIp: "203.0.113.9" }));
  const page = await ctx.request(`/login/${ID}`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const response = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { cookie: cookieOf(page) },
    body: new URLSearchParams({ csrf }),
  });
  assertEquals(response.status, 403);
  assertStringIncludes(await response.text(), "same network");
});

Deno.test("over https the cookie is __Host- prefixed and Secure, and HSTS is sent", async () => {
  const ctx = await appSetup({ baseUrl: "https://vpn.example.com" });
  const response = await ctx.request(`/login/${ID}`);
  assertMatch(
    response.headers.getSetCookie()[0] ?? "",
    new RegExp(`^__Host-oao-${ID}=binding-1;.*Secure`),
  );
  assert(response.headers.get("strict-transport-security") !== null);
});

Deno.test("/healthz answers while /readyz reports what is not ready", async () => {
  const ctx = await appSetup();
  assertEquals((await ctx.request("/healthz")).status, 200);
  // Asked from this host (or by a trusted proxy itself): every link named.
  const ready = await ctx.app.request("/readyz", {}, { remoteAddr: "127.0.0.1" });
  assertEquals(ready.status, 503);
  assertEquals(await ready.json(), {
    ready: false,
    management: true,
    servers: { default: true },
    idp: false,
  });
});

Deno.test("/readyz tells a browser only the verdict: server names, links and leases are for this host and trusted proxies", async () => {
  const ctx = await appSetup();
  const fromBrowser = await ctx.request("/readyz");
  assertEquals(fromBrowser.status, 503);
  assertEquals(await fromBrowser.json(), { ready: false });
  // A forwarded header from an untrusted peer changes nothing.
  const spoofed = await ctx.request("/readyz", { headers: { "x-forwarded-for": "127.0.0.1" } });
  assertEquals(await spoofed.json(), { ready: false });
  const mapped = await ctx.app.request("/readyz", {}, { remoteAddr: "::ffff:127.0.0.1" });
  assertEquals((await mapped.json()).servers, { default: true });
  // A reverse proxy on this host (not in trusted_proxies) forwarding a browser's request.
  for (const header of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
    const proxied = await ctx.app.request("/readyz", { headers: { [header]: "203.0.113.9" } }, {
      remoteAddr: "127.0.0.1",
    });
    assertEquals(await proxied.json(), { ready: false }, header);
  }
});

Deno.test("unknown paths and methods get a plain error page, never a stack trace", async () => {
  const ctx = await appSetup();
  const response = await ctx.request("/../../etc/passwd");
  assertEquals(response.status, 404);
  const text = await response.text();
  assertStringIncludes(text, "Not found");
  assert(!text.includes(" at "));
  assertEquals((await ctx.request("/oauth2/callback", { method: "DELETE" })).status, 404);
});

Deno.test("a route that throws gets a plain 500 page, never a stack trace or the error's text, and the error is logged", async () => {
  const ctx = await appSetup();
  ctx.flow.view = () => Promise.reject(new Error("secret detail"));
  let response: Response | undefined;
  let text = "";
  const lines = await logsOf(async () => {
    response = await ctx.request(`/login/${ID}`);
    text = await response.text();
  });
  assertEquals(response?.status, 500);
  assertStringIncludes(text, "Something went wrong");
  assert(!text.includes(" at "), "the page shows a stack trace");
  assert(!text.includes("secret detail"), "the page shows the error's text");
  assert(!text.includes("Error:"), "the page shows the error");
  const failed = lines.filter((line) => line.level === "error");
  assertEquals(failed.length, 1, JSON.stringify(lines));
  assertStringIncludes(failed[0]!.text, "HTTP request failed");
  assertStringIncludes(failed[0]!.text, "secret detail");
});

Deno.test("a request body over 4 KiB is refused", async () => {
  const ctx = await appSetup();
  const response = await ctx.request(`/login/${ID}`, { method: "POST", body: "x".repeat(10_000) });
  assertEquals(response.status, 413);
});

Deno.test("pages follow Accept-Language: German, French, Spanish confirm pages", async () => {
  const cases: Array<[string, string, string, string]> = [
    ["de-DE,de;q=0.9,en;q=0.8", "de", "Am VPN anmelden", "Weiter zur Anmeldung"],
    ["fr-CH, fr;q=0.9, en;q=0.8", "fr", "Connexion au VPN", "Continuer vers la connexion"],
    ["es", "es", "Iniciar sesión en la VPN", "Continuar al inicio de sesión"],
    ["en-GB,de;q=0.5", "en", "Sign in to the VPN", "Continue to sign-in"],
  ];
  for (const [header, tag, title, button] of cases) {
    const ctx = await appSetup();
    const response = await ctx.request(`/login/${ID}`, { headers: { "accept-language": header } });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-language"), tag);
    assertEquals(response.headers.get("vary"), "Accept-Language");
    const text = await response.text();
    assertStringIncludes(text, `<html lang="${tag}">`);
    assertStringIncludes(text, `<h1>${title}</h1>`);
    assertStringIncludes(text, `>${button}</button>`);
    assertStringIncludes(text, "<strong><bdi>alice-laptop</bdi></strong>");
    assertEquals(response.headers.getSetCookie().length, 1);
  }
});

Deno.test("pages fall back to http.default_language when Accept-Language matches nothing", async () => {
  const ctx = await appSetup({ defaultLanguage: "fr" });
  for (const header of [undefined, "ja,zh;q=0.8", "*", "de;q=0"]) {
    const response = await ctx.request(
      "/login/BBBBBBBBBBBBBBBBBBBBBB",
      header === undefined ? {} : { headers: { "accept-language": header } },
    );
    assertEquals(response.status, 404);
    assertEquals(response.headers.get("content-language"), "fr", String(header));
    assertStringIncludes(await response.text(), "Ce lien de connexion a expiré.");
  }
});

Deno.test("the denial reason is translated by its code; the VPN client's message is not", async () => {
  const ctx = await appSetup({
    claims: { sub: "u-bob", preferred_username: "bob", groups: ["/other"] },
  });
  const german = { "accept-language": "de" };
  const { cookie } = await confirmAndContinue(ctx, german);
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { ...german, cookie },
  });
  assertEquals(response.status, 403);
  const text = await response.text();
  assertStringIncludes(text, "<h1>Zugriff verweigert</h1>");
  assertStringIncludes(text, "Sie sind in keiner Gruppe, die dieses VPN nutzen darf");
  assert(!text.includes("You are not in a group"));
  assertEquals(
    ctx.commander.commands[0]?.kind === "halt" && ctx.commander.commands[0].clientReason,
    "You are not in a group allowed to use this VPN",
  );
});

Deno.test("error pages are translated: Spanish 'opened elsewhere', French not found", async () => {
  const ctx = await appSetup();
  const forged = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { "accept-language": "es-MX" },
    body: new URLSearchParams({ csrf: "x" }),
  });
  assertEquals(forged.status, 403);
  const text = await forged.text();
  assertStringIncludes(text, "<h1>Enlace de inicio de sesión abierto en otro lugar</h1>");
  assertStringIncludes(text, "Error 403");
  const missing = await ctx.request("/nothing", { headers: { "accept-language": "fr" } });
  assertEquals(missing.status, 404);
  assertStringIncludes(await missing.text(), "<h1>Introuvable</h1>");
});

Deno.test("confirm_login = false sets the binding cookie on the redirect, and the callback completes", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  const { response, cookie: set } = await openWithoutConfirm(ctx);
  assertEquals(response.status, 303);
  const cookie = cookieOf(response);
  assertEquals(cookie, `oao-${ID}=binding-1`);
  assertEquals(cookie, set);
  const location = new URL(response.headers.get("location") ?? "");
  const state = location.searchParams.get("state") ?? "";
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    headers: { cookie },
  });
  assertEquals(callback.status, 200);
  assertEquals(ctx.commander.commands[0]?.kind, "auth");
  // Only the finished login's cookie is marked: the others may be sign-ins still under way.
  assertEquals(callback.headers.getSetCookie().map((line) => line.split(";")[0]), [
    `oao-${ID}=done`,
  ]);
});

async function continueAs(ctx: Awaited<ReturnType<typeof appSetup>>, cookie?: string) {
  const page = await ctx.request(`/login/${ID}`, cookie ? { headers: { cookie } } : {});
  const browserCookie = cookie ?? cookieOf(page);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const response = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { cookie: browserCookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf }),
  });
  return { response, cookie: browserCookie };
}

Deno.test("once a browser has begun the sign-in, another browser's Continue is refused and the first completes", async () => {
  const ctx = await appSetup();
  const first = await continueAs(ctx);
  const firstState = new URL(first.response.headers.get("location") ?? "").searchParams.get(
    "state",
  );
  const second = await continueAs(ctx);
  assertEquals(second.response.status, 409);
  assertStringIncludes(await second.response.text(), "already being signed in");
  assertEquals((await ctx.store.getPending(ID))?.oauth?.state, firstState);
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${firstState}`, {
    headers: { cookie: first.cookie },
  });
  assertEquals(callback.status, 200);
  assertEquals(ctx.commander.commands.map((command) => command.kind), ["auth"]);
});

Deno.test("two browsers pressing Continue at the same moment on two instances sharing the store: one wins, the other is told the sign-in is under way", async () => {
  // The other instance's begin lands in the shared store while this one prepares its request
  // (this process's per-login queue does not see it).
  const other = { state: "state-other", nonce: "n", codeVerifier: "v", browserBinding: "b-other" };
  const ctx = await appSetup({
    duringStartLogin: async (store) => {
      const login = await store.getPending(ID);
      if (login !== undefined && login.oauth === undefined) {
        await store.updatePending({ ...login, oauth: other });
      }
    },
  });
  const { response } = await confirmAndContinue(ctx);
  assertEquals(response.status, 409);
  assertStringIncludes(await response.text(), "already being signed in");
  assertEquals((await ctx.store.getPending(ID))?.oauth, other);
});

Deno.test("the same browser may press Continue again: it keeps its binding and gets a new state", async () => {
  const ctx = await appSetup();
  const first = await continueAs(ctx);
  const again = await continueAs(ctx, first.cookie);
  assertEquals(again.response.status, 303);
  const state = new URL(again.response.headers.get("location") ?? "").searchParams.get("state");
  const stored = await ctx.store.getPending(ID);
  assertEquals(stored?.oauth?.state, state);
  assertEquals(`oao-${ID}=${stored?.oauth?.browserBinding}`, first.cookie);
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    headers: { cookie: first.cookie },
  });
  assertEquals(callback.status, 200);
});

Deno.test("Continue pressed again in another tab while the first tab's callback is handled: the first is over, the second completes, nobody is denied", async () => {
  const ctx = await appSetup();
  const first = await continueAs(ctx);
  const firstState = new URL(first.response.headers.get("location") ?? "").searchParams.get(
    "state",
  );
  // The second tab's Continue lands between the first callback's match and its take.
  let secondState: string | null = null;
  const takePending = ctx.store.takePending.bind(ctx.store);
  ctx.store.takePending = async (id) => {
    ctx.store.takePending = takePending;
    const again = await continueAs(ctx, first.cookie);
    secondState = new URL(again.response.headers.get("location") ?? "").searchParams.get("state");
    return await takePending(id);
  };
  const older = await ctx.request(`/oauth2/callback?code=abc&state=${firstState}`, {
    headers: { cookie: first.cookie },
  });
  assertEquals(older.status, 404);
  assertEquals(ctx.commander.commands.length, 0, "the VPN client was answered");
  assertEquals((await ctx.store.getPending(ID))?.oauth?.state, secondState);
  const newer = await ctx.request(`/oauth2/callback?code=abc&state=${secondState}`, {
    headers: { cookie: first.cookie },
  });
  assertEquals(newer.status, 200);
  assertEquals(ctx.commander.commands.map((c) => c.kind), ["auth"]);
});

Deno.test("a browser holding many login cookies still completes the login it signed in for", async () => {
  const ctx = await appSetup();
  const others: string[] = [];
  for (let i = 0; i < 12; i++) {
    const id = `X${String(i).padStart(2, "0")}${"A".repeat(19)}`;
    await ctx.store.putPending(ctx.pending({ id, cid: 100 + i }));
    others.push(`oao-${id}=binding-other-${i}`);
  }
  const { response, cookie } = await confirmAndContinue(ctx);
  const state = new URL(response.headers.get("location") ?? "").searchParams.get("state") ?? "";
  // The state names the login by a hash: the IdP never sees the login link's id.
  assert(state.startsWith(`${stateTag(ID)}.`), state);
  assert(!state.includes(ID), state);
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    headers: { cookie: [...others, cookie].join("; ") },
  });
  assertEquals(callback.status, 200);
  assertEquals(ctx.commander.commands[0]?.kind, "auth");
  // Only the finished login's cookie is marked: the others may be sign-ins still under way.
  assertEquals(callback.headers.getSetCookie().map((line) => line.split(";")[0]), [
    `oao-${ID}=done`,
  ]);
});

for (
  const [vpnAddress, browserAddress, allowed] of [
    ["2001:db8::1", "2001:DB8:0:0:0:0:0:1", true],
    ["2001:DB8::1", "2001:db8::0:1", true],
    ["198.51.100.7", "::ffff:198.51.100.7", true],
    ["::ffff:198.51.100.7", "198.51.100.7", true],
    ["::ffff:c633:6407", "198.51.100.7", true],
    ["2001:db8::1", "2001:db8::2", false],
    ["198.51.100.7", "198.51.100.8", false],
    ["198.51.100.7", "::198.51.100.7", false],
  ] as const
) {
  Deno.test(`check_client_ip: VPN client ${vpnAddress}, browser ${browserAddress}: ${allowed ? "same" : "different"} address`, async () => {
    const ctx = await appSetup({ checkClientIp: true });
    await ctx.store.putPending(ctx.pending({ clientIp: vpnAddress }));
    const page = await ctx.app.request(`/login/${ID}`, {}, { remoteAddr: browserAddress });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const response = await ctx.app.request(`/login/${ID}`, {
      method: "POST",
      headers: { cookie: cookieOf(page), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf }),
    }, { remoteAddr: browserAddress });
    assertEquals(response.status, allowed ? 303 : 403);
  });
}

Deno.test("the second browser's refusal is shown in its language", async () => {
  const ctx = await appSetup();
  await continueAs(ctx);
  const page = await ctx.request(`/login/${ID}`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const response = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: {
      cookie: cookieOf(page),
      "accept-language": "de-DE,de;q=0.9",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf }),
  });
  assertEquals(response.status, 409);
  assertStringIncludes(await response.text(), "Anmeldung bereits begonnen");
});

Deno.test("the login flow answers in domain outcomes with a denial code; the web layer picks the page", async () => {
  const ctx = await appSetup({
    claims: { sub: "u-bob", preferred_username: "bob", groups: ["/other"] },
  });
  const { cookie } = await confirmAndContinue(ctx);
  const binding = cookie.split("=")[1]!;
  const callback = new URL(`http://127.0.0.1:9000/oauth2/callback?code=abc&state=${STATE_1}`);
  assertEquals(await ctx.flow.complete(callback, [], PEER.remoteAddr), { kind: "cookie-missing" });
  assertEquals(
    await ctx.flow.complete(new URL("http://127.0.0.1:9000/oauth2/callback"), [[ID, binding]], ""),
    { kind: "invalid-response" },
  );
  assertEquals(await ctx.flow.complete(callback, [[ID, binding]], PEER.remoteAddr), {
    kind: "denied",
    code: "group",
    reason: "You are not in a group allowed to use this VPN",
    loginId: ID,
    loginExpiresAt: T0 + 180_000,
  });
  assertEquals(await ctx.flow.complete(callback, [[ID, binding]], PEER.remoteAddr), {
    kind: "expired",
  });
});

Deno.test("a login recorded for a server this configuration no longer has is expired before the IdP", async () => {
  const ctx = await appSetup();
  const gone = "BBBBBBBBBBBBBBBBBBBBBB";
  await ctx.store.putPending(ctx.pending({ id: gone, server: "removed" }));
  const page = await ctx.request(`/login/${gone}`);
  assertEquals(page.status, 404);
  assertStringIncludes(await page.text(), "This sign-in link has expired.");
  assertEquals(await ctx.flow.begin(gone, "binding-9", PEER.remoteAddr), { kind: "expired" });
  // Begun before a restart that dropped the server: its callback finds nothing to finish.
  const state = `${stateTag(gone)}.state-9`;
  const oauth = { state, nonce: "n", codeVerifier: "v", browserBinding: "binding-9" };
  await ctx.store.putPending(ctx.pending({ id: gone, server: "removed", oauth }));
  const callback = new URL(`http://127.0.0.1:9000/oauth2/callback?code=abc&state=${state}`);
  assertEquals(await ctx.flow.complete(callback, [[gone, "binding-9"]], PEER.remoteAddr), {
    kind: "expired",
  });
  assertEquals(ctx.finishCalls, []);
  assertEquals(ctx.commander.commands, []);
});

Deno.test("a HEAD request changes nothing: it neither begins a login (confirm_login = false) nor takes one at the callback", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  const head = await ctx.request(`/login/${ID}`, { method: "HEAD" });
  assertEquals(head.status, 200);
  assertEquals(head.headers.getSetCookie(), []);
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined);
  // The user's own GET then begins it as usual.
  const { response, cookie } = await openWithoutConfirm(ctx);
  assertEquals(response.status, 303);
  const state = new URL(response.headers.get("location") ?? "").searchParams.get("state") ?? "";
  const callbackHead = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    method: "HEAD",
    headers: { cookie },
  });
  assertEquals(callbackHead.status, 405);
  assertEquals(ctx.finishCalls.length, 0);
  assert((await ctx.store.getPending(ID))?.oauth !== undefined, "the login was taken");
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    headers: { cookie },
  });
  assertEquals(callback.status, 200);
  assertEquals(ctx.commander.commands[0]?.kind, "auth");
});
