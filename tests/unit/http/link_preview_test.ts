/**
 * `http.confirm_login = false` and link previews: Slack, Teams and Outlook Safe Links GET a
 * pasted link without keeping cookies. Such a GET must not begin the sign-in (it would be bound
 * to the bot, and the user refused with "Sign-in already started"): the first answer sets the
 * cookie and refreshes to the link again, and only a GET that comes back with it begins.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appSetup, cookieOf, ID, STATE_1 } from "../../support/app_fixture.ts";
import { PAGE_TEXT } from "../../../src/http/pages/mod.ts";

const REFRESH = /<meta http-equiv="refresh" content="0;url=([^"]+)">/;

Deno.test("confirm_login = false: a link preview's GET begins nothing; the user's GET sets the cookie and its return with it begins the sign-in bound to the user", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  const bot = await ctx.request(`/login/${ID}`, {
    headers: { "user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" },
  });
  assertEquals(bot.status, 200);
  await bot.text();
  assertEquals(cookieOf(bot), `oao-${ID}=binding-1`);
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined, "the bot began the sign-in");

  // The user's browser, without the bot's cookie.
  const page = await ctx.request(`/login/${ID}`);
  assertEquals(page.status, 200);
  const cookie = cookieOf(page);
  assertEquals(cookie, `oao-${ID}=binding-2`);
  const text = await page.text();
  const refresh = REFRESH.exec(text)?.[1];
  assertEquals(refresh, `http://127.0.0.1:9000/login/${ID}?b=1`);
  // For browsers that do not follow the refresh: a button to the same place, on our origin.
  assertStringIncludes(
    text,
    `<form method="get" action="http://127.0.0.1:9000/login/${ID}">\n` +
      `<input type="hidden" name="b" value="1">\n<button id="continue" type="submit">`,
  );
  // The CSP forbids scripts, and the page needs none: a meta refresh is no script.
  assert(!text.includes("<script"), "the page has a script");
  const csp = page.headers.get("content-security-policy") ?? "";
  assertStringIncludes(csp, "default-src 'none'");
  assert(!csp.includes("script-src"), csp);
  assertStringIncludes(csp, "form-action 'self'");
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined);

  const back = await ctx.request(new URL(refresh!).pathname + new URL(refresh!).search, {
    headers: { cookie },
  });
  assertEquals(back.status, 303);
  assertEquals(
    back.headers.get("location"),
    `https://idp.example/realms/vpn/auth?state=${STATE_1}`,
  );
  assertEquals((await ctx.store.getPending(ID))?.oauth?.browserBinding, "binding-2");

  // The bot's cookie, had it kept one, may not take the sign-in over.
  const taken = await ctx.request(`/login/${ID}`, { headers: { cookie: cookieOf(bot) } });
  assertEquals(taken.status, 409);
  await taken.text();
  const callback = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  assertEquals(callback.status, 200);
  assertEquals(ctx.commander.commands.map((command) => command.kind), ["auth"]);
});

Deno.test("confirm_login = false: a return without the cookie (cookies off) shows the cookie page, not the refresh again", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  const back = await ctx.request(`/login/${ID}?b=1`);
  assertEquals(back.status, 400);
  const text = await back.text();
  assertStringIncludes(text, PAGE_TEXT.en.errors["cookie-missing"].message);
  assert(!REFRESH.test(text), "sent round again");
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined);
  // Reloaded once cookies are on, it goes on.
  const cookie = cookieOf(back);
  assertEquals(cookie, `oao-${ID}=binding-1`);
  const reload = await ctx.request(`/login/${ID}?b=1`, { headers: { cookie } });
  assertEquals(reload.status, 303);
  assertEquals((await ctx.store.getPending(ID))?.oauth?.browserBinding, "binding-1");
});

Deno.test("confirm_login = false: a HEAD still answers empty, sets no cookie and begins nothing", async () => {
  const ctx = await appSetup({ confirmLogin: false });
  for (const path of [`/login/${ID}`, `/login/${ID}?b=1`]) {
    const head = await ctx.request(path, { method: "HEAD" });
    assertEquals(head.status, 200, path);
    assertEquals(head.headers.getSetCookie(), [], path);
  }
  assertEquals((await ctx.store.getPending(ID))?.oauth, undefined);
});

Deno.test("the page that sets the cookie is in the browser's language", async () => {
  for (const [language, t] of Object.entries(PAGE_TEXT)) {
    const ctx = await appSetup({ confirmLogin: false });
    const page = await ctx.request(`/login/${ID}`, { headers: { "accept-language": language } });
    assertEquals(page.headers.get("content-language"), t.tag);
    const text = await page.text();
    assertStringIncludes(text, `<h1>${t.confirmTitle}</h1>`, language);
    assertStringIncludes(text, `>${t.continueButton}</button>`, language);
  }
});

Deno.test("a finished sign-in's mark is never taken for a binding: the link gives a fresh one", async () => {
  const off = await appSetup({ confirmLogin: false });
  const page = await off.request(`/login/${ID}`, { headers: { cookie: `oao-${ID}=done` } });
  assertEquals(page.status, 200);
  assert(REFRESH.test(await page.text()), "no refresh");
  assertEquals(cookieOf(page), `oao-${ID}=binding-1`);
  assertEquals((await off.store.getPending(ID))?.oauth, undefined);
  const on = await appSetup();
  const confirm = await on.request(`/login/${ID}`, { headers: { cookie: `oao-${ID}=done` } });
  assertEquals(confirm.status, 200);
  await confirm.text();
  assertEquals(cookieOf(confirm), `oao-${ID}=binding-1`);
});
