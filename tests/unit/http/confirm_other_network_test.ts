/**
 * A login link forwarded to someone else signs in the sender's VPN client (with no certificate, the
 * confirm page names it by its address alone). So the confirm page warns, in every language, when
 * the browser's address (as `http.check_client_ip` takes it: the socket, or X-Forwarded-For from a
 * trusted proxy) is not the VPN client's; not when it is, nor when both are in one IPv6 /64. A warning only: a phone on mobile data or
 * a split tunnel differs too. Templates get it as `{{otherNetwork}}` and `{{browserIp}}`.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appSetup, ID, PEER } from "../../support/app_fixture.ts";
import { builtinLocalizedPages } from "../../../src/http/pages/mod.ts";
import { loadTemplates } from "../../../src/http/pages/templates.ts";
import type { Language } from "../../../src/config/languages.ts";

/** The VPN client of the sender of the link, elsewhere on the internet. */
const SENDER = "203.0.113.66";
const BROWSER = PEER.remoteAddr;
const strong = (ip: string) => `<strong><bdi>${ip}</bdi></strong>`;

const WARNINGS: Record<Language, string> = {
  en: `This VPN connection comes from another network than this browser (this browser: ${
    strong(BROWSER)
  }, the VPN client: ${
    strong(SENDER)
  }). If you did not start it from this device, close this window.`,
  de: `Diese VPN-Verbindung kommt aus einem anderen Netzwerk als dieser Browser (dieser Browser: ${
    strong(BROWSER)
  }, der VPN-Client: ${
    strong(SENDER)
  }). Wenn Sie sie nicht auf diesem Gerät gestartet haben, schließen Sie dieses Fenster.`,
  fr: `Cette connexion VPN vient d’un autre réseau que ce navigateur (ce navigateur : ${
    strong(BROWSER)
  }, le client VPN : ${
    strong(SENDER)
  }). Si vous ne l’avez pas lancée depuis cet appareil, fermez cette fenêtre.`,
  es: `Esta conexión VPN procede de otra red distinta de la de este navegador (este navegador: ${
    strong(BROWSER)
  }, el cliente VPN: ${
    strong(SENDER)
  }). Si no la inició desde este dispositivo, cierre esta ventana.`,
};

const warnsOf = (html: string) => html.includes('<p class="warning">This VPN connection comes');

async function pageFor(clientIp: string, init: RequestInit = {}, peer = PEER) {
  const ctx = await appSetup({
    stored: { commonName: "", clientIp },
    trustedProxies: ["10.0.0.0/8"],
  });
  const response = await ctx.app.request(`/login/${ID}`, init, peer);
  assertEquals(response.status, 200);
  return await response.text();
}

Deno.test("GET /login/:id from a browser on another network than the VPN client warns, naming both addresses", async () => {
  const html = await pageFor(SENDER);
  assertStringIncludes(html, `<p class="warning">${WARNINGS.en}</p>`);
});

Deno.test("GET /login/:id from the VPN client's own address does not warn, in any spelling", async () => {
  assertEquals(warnsOf(await pageFor(BROWSER)), false);
  assertEquals(warnsOf(await pageFor(`::ffff:${BROWSER}`)), false);
});

Deno.test("GET /login/:id compares IPv6 addresses by their /64: privacy addresses of one network do not warn", async () => {
  const browser = { remoteAddr: "2001:db8:1:2::aaaa" };
  assertEquals(warnsOf(await pageFor("2001:db8:1:2:5:6:7:8", {}, browser)), false, "same /64");
  assertEquals(warnsOf(await pageFor("2001:db8:1:3::aaaa", {}, browser)), true, "another /64");
});

Deno.test("the browser's address is the one check_client_ip takes: X-Forwarded-For from a trusted proxy only", async () => {
  const proxy = { remoteAddr: "10.1.2.3" };
  const viaProxy = { headers: { "x-forwarded-for": SENDER } };
  assertEquals(warnsOf(await pageFor(SENDER, viaProxy, proxy)), false, "a trusted proxy's");
  // From an untrusted peer the header is the client's own word: the peer is the browser.
  assertEquals(warnsOf(await pageFor(SENDER, viaProxy)), true, "an untrusted peer's");
});

Deno.test("the other-network warning is in every language", () => {
  for (const [language, warning] of Object.entries(WARNINGS)) {
    const html = builtinLocalizedPages.byLanguage[language as Language].confirm({
      commonName: "",
      clientIp: SENDER,
      browserIp: BROWSER,
      expiresInMinutes: 3,
      actionUrl: "https://vpn.example.com/login/abc",
    });
    assertStringIncludes(html, `<p class="warning">${warning}</p>`, language);
  }
});

Deno.test("a confirm.html template gets {{otherNetwork}} and {{browserIp}}, empty for the same network", async () => {
  const template = `<form method="post" action="{{actionUrl}}"><input name="csrf" ` +
    `value="{{csrf}}"><p>{{otherNetwork}}</p><i>{{browserIp}}</i></form>`;
  const pages = await loadTemplates(
    "/tpl",
    (path) => Promise.resolve(path === "/tpl/confirm.html" ? template : undefined),
  );
  const input = { commonName: "", clientIp: SENDER, expiresInMinutes: 3, actionUrl: "/login/a" };
  const other = pages.byLanguage.de.confirm({ ...input, browserIp: BROWSER });
  assertStringIncludes(
    other,
    `<p>Diese VPN-Verbindung kommt aus einem anderen Netzwerk als dieser Browser (dieser Browser: ${BROWSER}, der VPN-Client: ${SENDER}).`,
  );
  assertStringIncludes(other, `<i>${BROWSER}</i>`);
  assertStringIncludes(pages.byLanguage.en.confirm(input), "<p></p><i></i>");
});
