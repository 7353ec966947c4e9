/**
 * What the callback page says by the cookies the browser holds: a browser holding only another,
 * abandoned sign-in's cookie is told to finish in the browser that began it (that sign-in may
 * still be pending), and a reload after the sign-in was answered says it is finished, not
 * "cookie missing" or "expired, reconnect" (which may make the user drop a working tunnel). So
 * do the login link's pages: Back to the confirm page, Continue in a tab left open.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appSetup, cookieOf, ID, openWithoutConfirm } from "../../support/app_fixture.ts";
import { escapeHtml, PAGE_TEXT } from "../../../src/http/pages/mod.ts";

type Ctx = Awaited<ReturnType<typeof appSetup>>;

const ABANDONED = "CCCCCCCCCCCCCCCCCCCCCC";

/** The confirm form's Continue for `id` with this CSRF token, the browser's cookie in `headers`. */
function post(ctx: Ctx, headers: Record<string, string>, csrf: string, id = ID) {
  return ctx.request(`/login/${id}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf }),
  });
}

/**
 * Confirm and Continue for `id` in a browser of its own; the state the IdP will send back, and
 * the form's token (a tab left open on the confirm page still holds it).
 */
async function begin(ctx: Ctx, id = ID) {
  const page = await ctx.request(`/login/${id}`);
  const cookie = cookieOf(page);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const response = await post(ctx, { cookie }, csrf, id);
  assertEquals(response.status, 303);
  const state = new URL(response.headers.get("location") ?? "").searchParams.get("state") ?? "";
  return { cookie, state, csrf };
}

/** begin() with confirm_login = false: no form, so no token. */
async function openAndBegin(ctx: Ctx) {
  const { response, cookie } = await openWithoutConfirm(ctx);
  assertEquals(response.status, 303);
  const state = new URL(response.headers.get("location") ?? "").searchParams.get("state") ?? "";
  return { cookie, state, csrf: "" };
}

/** The page's heading. */
async function titleOf(response: Response): Promise<string> {
  const text = await response.text();
  return /<h1>(.*)<\/h1>/.exec(text)?.[1] ?? "";
}

Deno.test("a callback in a browser holding only another, abandoned sign-in's cookie is told the cookie is missing, and the sign-in stays finishable where it began", async () => {
  const ctx = await appSetup();
  await ctx.store.putPending(ctx.pending({ id: ABANDONED, cid: 9 }));
  const abandoned = await begin(ctx, ABANDONED);
  const mine = await begin(ctx);
  const elsewhere = await ctx.request(`/oauth2/callback?code=abc&state=${mine.state}`, {
    headers: { cookie: abandoned.cookie },
  });
  assertEquals(elsewhere.status, 400);
  const text = await elsewhere.text();
  assertStringIncludes(text, escapeHtml(PAGE_TEXT.en.errors["cookie-missing"].message));
  assert(!text.includes("Reconnect your VPN"), "told to reconnect");
  assertEquals(elsewhere.headers.getSetCookie(), []);
  assertEquals(ctx.finishCalls, []);
  assertEquals((await ctx.store.getPending(ID))?.oauth?.state, mine.state);
  const here = await ctx.request(`/oauth2/callback?code=abc&state=${mine.state}`, {
    headers: { cookie: mine.cookie },
  });
  assertEquals(here.status, 200);
  assertEquals(ctx.commander.commands.map((command) => command.cid), [4]);
});

Deno.test("a reloaded callback page after the sign-in says it is finished, sends nothing and changes no cookie", async () => {
  const ctx = await appSetup();
  await ctx.store.putPending(ctx.pending({ id: ABANDONED, cid: 9 }));
  const other = await begin(ctx, ABANDONED);
  const { cookie, state } = await begin(ctx);
  const callback = `/oauth2/callback?code=abc&state=${state}`;
  const done = await ctx.request(callback, { headers: { cookie } });
  assertEquals(done.status, 200);
  await done.text();
  const marked = cookieOf(done);
  assertEquals(marked, `oao-${ID}=done`);
  // The browser sends the mark, and perhaps another sign-in's cookie with it.
  for (const sent of [marked, `${other.cookie}; ${marked}`]) {
    const reload = await ctx.request(callback, { headers: { cookie: sent } });
    assertEquals(reload.status, 200, sent);
    const text = await reload.text();
    assertStringIncludes(text, "<h1>Sign-in finished</h1>", sent);
    assertStringIncludes(
      text,
      "This sign-in is finished. If your VPN client is not connected, reconnect it.",
      sent,
    );
    assertEquals(reload.headers.getSetCookie(), [], sent);
  }
  assertEquals(ctx.finishCalls.length, 1);
  assertEquals(ctx.commander.commands.map((command) => command.kind), ["auth"]);
  // The other sign-in was left alone.
  assertEquals((await ctx.store.getPending(ABANDONED))?.oauth?.state, other.state);
});

Deno.test("a denied sign-in's cookie is marked too, and its reload says finished in the browser's language", async () => {
  const ctx = await appSetup({
    claims: { sub: "u-bob", preferred_username: "bob", groups: ["/other"] },
  });
  const { cookie, state } = await begin(ctx);
  const callback = `/oauth2/callback?code=abc&state=${state}`;
  const denied = await ctx.request(callback, { headers: { cookie } });
  assertEquals(denied.status, 403);
  await denied.text();
  assertEquals(denied.headers.getSetCookie(), [
    `oao-${ID}=done; Max-Age=180; Path=/; HttpOnly; SameSite=Lax`,
  ]);
  for (const [language, t] of Object.entries(PAGE_TEXT)) {
    const reload = await ctx.request(callback, {
      headers: { cookie: cookieOf(denied), "accept-language": language },
    });
    assertEquals(reload.status, 200, language);
    const text = await reload.text();
    assertStringIncludes(text, `<h1>${escapeHtml(t.finishedTitle)}</h1>`, language);
    assertStringIncludes(text, escapeHtml(t.finishedText), language);
  }
  assertEquals(ctx.commander.commands.map((command) => command.kind), ["halt"]);
});

Deno.test("the finished mark lives as long as the link had left", async () => {
  const ctx = await appSetup();
  const { cookie, state } = await begin(ctx);
  ctx.clock.time += 100_000;
  const done = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
    headers: { cookie },
  });
  assertEquals(done.status, 200);
  assertEquals(done.headers.getSetCookie(), [
    `oao-${ID}=done; Max-Age=80; Path=/; HttpOnly; SameSite=Lax`,
  ]);
});

Deno.test("after the sign-in, Back to the confirm page and Continue in a tab left open say it is finished, in the browser's language; without the mark, expired and opened elsewhere as before", async () => {
  for (const confirmLogin of [true, false]) {
    const ctx = await appSetup({ confirmLogin });
    const { cookie, state, csrf } = confirmLogin ? await begin(ctx) : await openAndBegin(ctx);
    const done = await ctx.request(`/oauth2/callback?code=abc&state=${state}`, {
      headers: { cookie },
    });
    assertEquals(done.status, 200);
    await done.text();
    const marked = cookieOf(done);
    assertEquals(marked, `oao-${ID}=done`);
    for (const [language, t] of Object.entries(PAGE_TEXT)) {
      const what = `confirm_login ${confirmLogin}, ${language}`;
      const headers = { cookie: marked, "accept-language": language };
      const back = await ctx.request(`/login/${ID}`, { headers });
      assertEquals([back.status, await titleOf(back)], [200, escapeHtml(t.finishedTitle)], what);
      assertEquals(back.headers.getSetCookie(), [], what);
      const stale = await post(ctx, headers, csrf);
      assertEquals([stale.status, await titleOf(stale)], [200, escapeHtml(t.finishedTitle)], what);
      assertEquals(stale.headers.getSetCookie(), [], what);
    }
    // Without the mark for this login (none, the binding it replaced, another login's mark):
    // expired, or opened elsewhere, as before. The binding with its form's token gets past the
    // CSRF check to find the login gone.
    for (const sent of ["", cookie, `oao-${ABANDONED}=done`]) {
      const what = `confirm_login ${confirmLogin}, cookie "${sent}"`;
      const headers = sent ? { cookie: sent } : {};
      const back = await ctx.request(`/login/${ID}`, { headers });
      assertEquals([back.status, await titleOf(back)], [404, "Sign-in link expired"], what);
      const stale = await post(ctx, headers, csrf);
      assertEquals(
        [stale.status, await titleOf(stale)],
        sent === cookie && confirmLogin
          ? [404, "Sign-in link expired"]
          : [403, "Sign-in link opened elsewhere"],
        what,
      );
    }
    assertEquals(ctx.finishCalls.length, 1);
    assertEquals(ctx.commander.commands.map((command) => command.kind), ["auth"]);
  }
});

Deno.test("the finished mark on a login still waiting is refused at Continue, and begins nothing", async () => {
  const ctx = await appSetup();
  const marked = `oao-${ID}=done`;
  const page = await ctx.request(`/login/${ID}`, { headers: { cookie: marked } });
  assertEquals(page.status, 200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  // The confirm page replaced the mark with a binding; a form still posted with the mark:
  const response = await post(ctx, { cookie: marked }, csrf);
  assertEquals([response.status, await titleOf(response)], [403, "Sign-in link opened elsewhere"]);
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined);
});
