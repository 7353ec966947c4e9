/**
 * The sign-in pages while the session store is down or slow: a 503 asking for a reload, the
 * login left as it was (a reload once the store answers goes on), and one warning a minute
 * however many browsers ask.
 */
import {
  assert,
  assertEquals,
  assertNotMatch,
  assertStringIncludes,
} from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { appSetup, cookieOf, ID, STATE_1 } from "../../support/app_fixture.ts";
import { escapeHtml, PAGE_TEXT } from "../../../src/http/pages/mod.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { MemoryStore } from "../../../src/sessions/memory_store.ts";

type Ctx = Awaited<ReturnType<typeof appSetup>>;
type PendingCall = "getPending" | "updatePending" | "takePending";

const UNAVAILABLE =
  "The sign-in service is briefly unavailable. Try again in a minute (reload this page).";
const CALLBACK = `/oauth2/callback?code=abc&state=${STATE_1}`;

/** Makes `calls` fail as an unreachable store would, until the returned function is called. */
function storeDown(
  store: MemoryStore,
  calls: readonly PendingCall[] = ["getPending", "updatePending", "takePending"],
): () => void {
  const methods = store as unknown as Record<PendingCall, unknown>;
  const originals = calls.map((call) => [call, methods[call]] as const);
  for (const call of calls) {
    methods[call] = () =>
      Promise.reject(new StoreUnavailableError("Session store unreachable: redis: ECONNREFUSED"));
  }
  return () => {
    for (const [call, original] of originals) methods[call] = original;
  };
}

async function confirmPage(ctx: Ctx) {
  const page = await ctx.request(`/login/${ID}`);
  assertEquals(page.status, 200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  return { cookie: cookieOf(page), csrf };
}

function pressContinue(ctx: Ctx, form: { cookie: string; csrf: string }) {
  return ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { cookie: form.cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf: form.csrf }),
  });
}

async function assertUnavailable(response: Response, what: string) {
  assertEquals(response.status, 503, what);
  assertStringIncludes(await response.text(), UNAVAILABLE, what);
  assertEquals(response.headers.get("retry-after"), "60", what);
  assertEquals(response.headers.get("cache-control"), "no-store", what);
  assertEquals(response.headers.getSetCookie(), [], `${what}: cookies changed`);
}

Deno.test("GET /login/:id with the store down answers 503 asking for a reload, and the reload once it is back shows the login", async () => {
  const ctx = await appSetup();
  const up = storeDown(ctx.store);
  await assertUnavailable(await ctx.request(`/login/${ID}`), "GET");
  const head = await ctx.request(`/login/${ID}`, { method: "HEAD" });
  assertEquals([head.status, head.headers.get("retry-after")], [503, "60"]);
  up();
  const reload = await ctx.request(`/login/${ID}`);
  assertEquals(reload.status, 200);
  assertStringIncludes(await reload.text(), "alice-laptop");
});

Deno.test("Continue with the store down (read or write) answers 503 and changes nothing: pressed again once it is back, it goes to the IdP", async () => {
  for (const calls of [undefined, ["updatePending"] as const]) {
    const what = calls ? calls.join() : "every call";
    const ctx = await appSetup();
    const form = await confirmPage(ctx);
    const up = storeDown(ctx.store, calls);
    await assertUnavailable(await pressContinue(ctx, form), what);
    up();
    assertEquals(await ctx.store.getPending(ID), ctx.pending(), what);
    const again = await pressContinue(ctx, form);
    assertEquals(again.status, 303, what);
    assertEquals((await ctx.store.getPending(ID))?.oauth?.browserBinding, "binding-1", what);
  }
});

Deno.test("confirm_login = false: opening the link with the store unable to write answers 503, and the reload goes to the IdP", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  // The first answer only sets the cookie; the browser's return with it begins the login.
  const cookie = cookieOf(await ctx.request(`/login/${ID}`));
  const up = storeDown(ctx.store, ["updatePending"]);
  await assertUnavailable(await ctx.request(`/login/${ID}?b=1`, { headers: { cookie } }), "GET");
  up();
  assertEquals(await ctx.store.getPending(ID), ctx.pending());
  assertEquals((await ctx.request(`/login/${ID}?b=1`, { headers: { cookie } })).status, 303);
});

Deno.test("the callback with the store down (read or take) answers 503, keeps the login and its cookie, and the reload once it is back signs in", async () => {
  for (const calls of [undefined, ["takePending"] as const]) {
    const what = calls ? calls.join() : "every call";
    const ctx = await appSetup();
    const form = await confirmPage(ctx);
    assertEquals((await pressContinue(ctx, form)).status, 303, what);
    const begun = await ctx.store.getPending(ID);
    const up = storeDown(ctx.store, calls);
    await assertUnavailable(
      await ctx.request(CALLBACK, { headers: { cookie: form.cookie } }),
      what,
    );
    up();
    assertEquals(await ctx.store.getPending(ID), begun, what);
    assertEquals(ctx.finishCalls.length, 0, `${what}: the IdP's code was spent`);
    assertEquals(ctx.commander.commands.length, 0, `${what}: OpenVPN was answered`);
    const reload = await ctx.request(CALLBACK, { headers: { cookie: form.cookie } });
    assertEquals(reload.status, 200, what);
    assertStringIncludes(await reload.text(), "You are connected.", what);
    assertEquals(ctx.commander.commands.map((c) => [c.kind, c.cid]), [["auth", 4]], what);
  }
});

Deno.test("the store-unavailable page is in the browser's language, in every language the pages have", async () => {
  const ctx = await appSetup();
  storeDown(ctx.store);
  const messages = new Set<string>();
  for (const [language, text] of Object.entries(PAGE_TEXT)) {
    const response = await ctx.request(`/login/${ID}`, {
      headers: { "accept-language": language },
    });
    assertEquals(response.status, 503, language);
    assertEquals(response.headers.get("content-language"), text.tag);
    const page = await response.text();
    const { title, message } = text.errors["store-unavailable"];
    assertStringIncludes(page, escapeHtml(title), language);
    assertStringIncludes(page, escapeHtml(message), language);
    messages.add(message);
  }
  assertEquals(PAGE_TEXT.en.errors["store-unavailable"].message, UNAVAILABLE);
  assertEquals(messages.size, Object.keys(PAGE_TEXT).length, "a language shows another's text");
});

Deno.test("an outage is warned about once a minute however many pages fail, with how many came in between, and never as an error", async () => {
  const ctx = await appSetup();
  const form = await confirmPage(ctx);
  storeDown(ctx.store);
  const lines = await logsOf(async () => {
    for (let i = 0; i < 20; i++) {
      assertEquals((await ctx.request(`/login/${ID}`)).status, 503);
      assertEquals((await pressContinue(ctx, form)).status, 503);
      const callback = await ctx.request(CALLBACK, { headers: { cookie: form.cookie } });
      assertEquals(callback.status, 503);
      ctx.clock.time += 500;
    }
    ctx.clock.time += 55_000;
    assertEquals((await ctx.request(`/login/${ID}`)).status, 503);
  });
  const warnings = lines.filter((line) => line.level === "warning");
  assertEquals(lines.filter((line) => line.level === "error"), []);
  assertEquals(warnings.length, 2, JSON.stringify(warnings));
  assertStringIncludes(warnings[0]!.text, "Session store unreachable");
  // The first of an outage has nothing before it to count.
  assertNotMatch(warnings[0]!.text, /\bmore\b/);
  assertEquals(warnings[1]!.properties["more"], 59);
  assertStringIncludes(warnings[1]!.text, "(59 more since the last)");
  assert(!lines.some((line) => line.text.includes("HTTP request failed")));
});
