/**
 * The browser-binding cookie as the routes read it: a POST needs the cookie the CSRF token was
 * made for, the callback reads only cookies under our exact name prefix, and the cookie marked
 * finished after the callback is one a browser accepts (a `__Host-` cookie without Secure is
 * dropped).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { appSetup, cookieOf, ID, STATE_1 } from "../../support/app_fixture.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function csrfOf(page: Response): Promise<string> {
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  assert(csrf !== undefined, "no CSRF token on the page");
  return csrf;
}

Deno.test("a POST without the binding cookie is refused even with a CSRF token made for a binding that spells 'undefined'", async () => {
  const ctx = await appSetup();
  // A browser may hold any well-formed value; this one is what a missing cookie would print as.
  const page = await ctx.request(`/login/${ID}`, { headers: { cookie: `oao-${ID}=undefined` } });
  assertEquals(cookieOf(page), `oao-${ID}=undefined`);
  const csrf = await csrfOf(page);
  const response = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({ csrf }),
  });
  assertEquals(response.status, 403);
  assertEquals(response.headers.get("location"), null);
  assertEquals(await ctx.store.getPending(ID), ctx.pending());
});

Deno.test("the callback reads only __Host- binding cookies over https: a look-alike name set by another host finds nothing", async () => {
  const ctx = await appSetup({ baseUrl: "https://vpn.example.com" });
  const page = await ctx.request(`/login/${ID}`);
  const cookie = cookieOf(page);
  assertEquals(cookie, `__Host-oao-${ID}=binding-1`);
  const begun = await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { ...FORM, cookie },
    body: new URLSearchParams({ csrf: await csrfOf(page) }),
  });
  assertEquals(begun.status, 303);
  // Same length as "__Host-oao-", so only the prefix itself tells them apart. A sibling
  // subdomain (or a network attacker over http) can set this one; nobody else can set __Host-.
  for (const name of [`__Evil-oao-${ID}`, `oao-${ID}`]) {
    const lookAlike = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
      headers: { cookie: `${name}=binding-1` },
    });
    assertEquals(lookAlike.status, 400, name);
    await lookAlike.text();
  }
  assertEquals(ctx.finishCalls.length, 0);
  assertEquals(ctx.commander.commands, []);
  const real = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(real.status, 200);
});

Deno.test("over https the callback marks the binding cookie finished with Secure and Path=/, as a browser requires of a __Host- cookie", async () => {
  const ctx = await appSetup({ baseUrl: "https://vpn.example.com" });
  const page = await ctx.request(`/login/${ID}`);
  const cookie = cookieOf(page);
  await ctx.request(`/login/${ID}`, {
    method: "POST",
    headers: { ...FORM, cookie },
    body: new URLSearchParams({ csrf: await csrfOf(page) }),
  });
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(callback.status, 200);
  assertEquals(callback.headers.getSetCookie(), [
    `__Host-oao-${ID}=done; Max-Age=180; Path=/; HttpOnly; Secure; SameSite=Lax`,
  ]);
});
