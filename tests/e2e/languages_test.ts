/**
 * The sign-in pages in a real Chromium in each language: the browser's locale picks the
 * language of the confirmation page and of the denial reason, while the VPN client's message
 * stays in the default language. Runs the in-process bridge against the test IdP and a scripted
 * management server (no OpenVPN needed). With SCREENSHOT_DIR set, saves each page as a PNG.
 */
import { assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { BridgeHarness } from "../support/bridge_harness.ts";
import { openBrowser } from "./lib/browser.ts";
import { announceSkip, findExecutable } from "./lib/requirements.ts";

const skip = announceSkip(
  "the page language tests",
  findExecutable("chromium") === undefined
    ? "missing chromium (apt-get install chromium)"
    : undefined,
);
const screenshots = Deno.env.get("SCREENSHOT_DIR");

const LANGUAGES = [
  {
    locale: "en-US",
    tag: "en",
    confirm: "Sign in to the VPN",
    denied: "You are not in a group allowed to use this VPN",
  },
  {
    locale: "de-DE",
    tag: "de",
    confirm: "Am VPN anmelden",
    denied: "Sie sind in keiner Gruppe, die dieses VPN nutzen darf",
  },
  {
    locale: "fr-FR",
    tag: "fr",
    confirm: "Connexion au VPN",
    denied: "Vous n’appartenez à aucun groupe autorisé à utiliser ce VPN",
  },
  {
    locale: "es-ES",
    tag: "es",
    confirm: "Iniciar sesión en la VPN",
    denied: "No pertenece a ningún grupo autorizado a usar esta VPN",
  },
] as const;

Deno.test({
  name:
    "a real browser sees the confirm and denied pages in its own language; the VPN client's reason stays English",
  ignore: skip !== undefined,
  async fn() {
    const h = await BridgeHarness.start();
    try {
      for (const [index, language] of LANGUAGES.entries()) {
        const cid = 10 + index;
        const url = await h.connect(cid, { common_name: "bob", session_id: `s-bob-${cid}` });
        const browser = await openBrowser({ locale: language.locale });
        try {
          const page = browser.page;
          await page.goto(url);
          assertEquals(await page.getAttribute("html", "lang"), language.tag);
          assertEquals(await page.textContent("h1"), language.confirm);
          assertMatch((await page.textContent("main")) ?? "", /bob/);
          if (screenshots) {
            await page.screenshot({
              path: join(screenshots, `confirm-${language.tag}.png`),
              fullPage: true,
            });
          }
          const mark = h.openvpn.received.length;
          await page.click("#continue");
          await page.fill("#username", "bob");
          await page.fill("#password", "bob-password");
          await page.click("#kc-login");
          await page.waitForURL((target) => target.pathname === "/oauth2/callback");
          assertMatch((await page.textContent("main")) ?? "", new RegExp(language.denied));
          if (screenshots) {
            await page.screenshot({
              path: join(screenshots, `denied-${language.tag}.png`),
              fullPage: true,
            });
          }
          const halt = await h.waitForCommand(
            mark,
            (line) => line.startsWith(`client-kill ${cid} `),
          );
          assertEquals(
            halt,
            `client-kill ${cid} "HALT,You are not in a group allowed to use this VPN"`,
          );
        } finally {
          await browser.close();
        }
      }
    } finally {
      await h.stop();
    }
  },
});
