/**
 * The confirm page of a client without a certificate (`verify-client-cert none|optional`), whose
 * certificate name is empty (certificate_name.ts): named by its address alone, in every language,
 * never "for certificate  from" and never by the user name it sent (its own word: whoever sends a
 * stranger the link types the name the stranger expects); logged and audited as
 * `(no certificate)`, and so named to a confirm.html template.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appSetup, ID, openWithoutConfirm, STATE_1 } from "../../support/app_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";
import { builtinLocalizedPages } from "../../../src/http/pages/mod.ts";
import { loadTemplates } from "../../../src/http/pages/templates.ts";
import type { Language } from "../../../src/config/languages.ts";

const WITHOUT_CERTIFICATE = {
  commonName: "",
  username: "alice",
  clientIp: "203.0.113.7",
  platform: "linux",
  clientVersion: "2.6.14",
  expiresInMinutes: 5,
  actionUrl: "https://vpn.example.com/login/abc",
  csrf: "tok",
};

const FROM = "<strong><bdi>203.0.113.7</bdi></strong>, <bdi>linux 2.6.14</bdi>";

/** The first sentence of each language's confirm page for a client without a certificate. */
const SENTENCES: Record<Language, string> = {
  en: `Sign in to allow the VPN connection from ${FROM}.`,
  de: `Melden Sie sich an, um die VPN-Verbindung von ${FROM} zu erlauben.`,
  fr: `Connectez-vous pour autoriser la connexion VPN depuis ${FROM}.`,
  es: `Inicie sesión para permitir la conexión VPN desde ${FROM}.`,
};

/** The page's first paragraph. */
function intro(html: string): string {
  return html.match(/<p>(.*?)<\/p>/)?.[1] ?? "";
}

Deno.test("the confirm page names a client without a certificate by its address alone, never by the user name it sent, in every language", () => {
  for (const [language, byAddress] of Object.entries(SENTENCES)) {
    const pages = builtinLocalizedPages.byLanguage[language as Language];
    const html = pages.confirm(WITHOUT_CERTIFICATE);
    assertEquals(intro(html), byAddress, language);
    assertEquals(html.includes("alice"), false, language);
  }
});

Deno.test("a client with a certificate is named by it", () => {
  const html = builtinLocalizedPages.byLanguage.en.confirm({
    ...WITHOUT_CERTIFICATE,
    commonName: "alice-laptop",
  });
  assertStringIncludes(
    intro(html),
    "for certificate <strong><bdi>alice-laptop</bdi></strong> from",
  );
});

Deno.test("a confirm.html template gets {{commonName}} (no certificate) for a client without one, in the page's language (kein Zertifikat), never the user name", async () => {
  const template = `<form method="post" action="{{actionUrl}}"><input name="csrf" ` +
    `value="{{csrf}}">{{commonName}} from {{clientIp}}</form>`;
  const pages = await loadTemplates(
    "/tpl",
    (path) => Promise.resolve(path === "/tpl/confirm.html" ? template : undefined),
  );
  const noCertificate: Record<Language, string> = {
    // As the logs write it.
    en: "(no certificate)",
    de: "(kein Zertifikat)",
    fr: "(aucun certificat)",
    es: "(sin certificado)",
  };
  for (const [language, { confirm }] of Object.entries(pages.byLanguage)) {
    const html = confirm(WITHOUT_CERTIFICATE);
    const name = noCertificate[language as Language];
    assertStringIncludes(html, `>${name} from 203.0.113.7</form>`, language);
    assertEquals(html.includes("alice"), false, language);
  }
  const named = pages.byLanguage.en.confirm({ ...WITHOUT_CERTIFICATE, commonName: "alice-laptop" });
  assertStringIncludes(named, ">alice-laptop from 203.0.113.7</form>");
});

Deno.test("GET /login/:id of a client without a certificate names its address, not the user name it sent", async () => {
  const ctx = await appSetup({ stored: { commonName: "", username: "alice" } });
  const response = await ctx.request(`/login/${ID}`);
  assertEquals(response.status, 200);
  const html = await response.text();
  assertStringIncludes(html, "VPN connection from <strong><bdi>198.51.100.7</bdi></strong>");
  assertEquals(html.includes("alice"), false);
});

Deno.test("the sign-in of a client without a certificate is logged and audited as such", async () => {
  const stored = { commonName: "", username: "alice" };
  const ctx = await appSetup({ confirmLogin: false, stored });
  const lines = await logsOf(async () => {
    const { cookie } = await openWithoutConfirm(ctx);
    await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, { headers: { cookie } });
  });
  assertEquals(lines.map((line) => line.text), [
    "admitted alice (subject u-alice) on default cid 4, certificate (no certificate), from " +
    "198.51.100.7",
    "Login of alice (cid 4, certificate (no certificate)) accepted",
  ]);
  // A Continue from another network than the VPN client's.
  const elsewhere = await appSetup({
    confirmLogin: false,
    checkClientIp: true,
    stored: { ...stored, clientIp: "203.0.113.9" },
  });
  const refused = await logsOf(() => openWithoutConfirm(elsewhere));
  assertStringIncludes(
    refused.map((line) => line.text).join("\n"),
    "Sign-in of (no certificate) (cid 4) not begun: the browser's address 198.51.100.7",
  );
});
