/**
 * The confirm page of a client without a certificate (`verify-client-cert none|optional`), whose
 * certificate name is empty (certificate_name.ts): named by the user name it sent, else by its
 * address alone, in every language, never "for certificate  from"; logged and audited as
 * `(no certificate)`.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appSetup, ID, openWithoutConfirm } from "../../support/app_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";
import { builtinLocalizedPages } from "../../../src/http/pages/mod.ts";
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

const USER = "<strong><bdi>alice</bdi></strong>";
const FROM = "<strong><bdi>203.0.113.7</bdi></strong>, <bdi>linux 2.6.14</bdi>";

/** The first sentence of each language's confirm page: by user name, and by address alone. */
const SENTENCES: Record<Language, { byUserName: string; byAddress: string }> = {
  en: {
    byUserName: `Sign in to allow the VPN connection for user name ${USER} from ${FROM}.`,
    byAddress: `Sign in to allow the VPN connection from ${FROM}.`,
  },
  de: {
    byUserName:
      `Melden Sie sich an, um die VPN-Verbindung für den Benutzernamen ${USER} von ${FROM} zu erlauben.`,
    byAddress: `Melden Sie sich an, um die VPN-Verbindung von ${FROM} zu erlauben.`,
  },
  fr: {
    byUserName:
      `Connectez-vous pour autoriser la connexion VPN du nom d’utilisateur ${USER} depuis ${FROM}.`,
    byAddress: `Connectez-vous pour autoriser la connexion VPN depuis ${FROM}.`,
  },
  es: {
    byUserName:
      `Inicie sesión para permitir la conexión VPN del nombre de usuario ${USER} desde ${FROM}.`,
    byAddress: `Inicie sesión para permitir la conexión VPN desde ${FROM}.`,
  },
};

/** The page's first paragraph. */
function intro(html: string): string {
  return html.match(/<p>(.*?)<\/p>/)?.[1] ?? "";
}

Deno.test("the confirm page names a client without a certificate by the user name it sent, in every language", () => {
  for (const [language, { byUserName }] of Object.entries(SENTENCES)) {
    const pages = builtinLocalizedPages.byLanguage[language as Language];
    assertEquals(intro(pages.confirm(WITHOUT_CERTIFICATE)), byUserName, language);
  }
});

Deno.test("the confirm page names a client with neither a certificate nor a user name by its address alone, in every language", () => {
  for (const [language, { byAddress }] of Object.entries(SENTENCES)) {
    const pages = builtinLocalizedPages.byLanguage[language as Language];
    for (const username of ["", undefined]) {
      assertEquals(
        intro(pages.confirm({ ...WITHOUT_CERTIFICATE, username })),
        byAddress,
        `${language} ${username}`,
      );
    }
  }
});

Deno.test("a certificate is named before the user name its client sent: a CA issued it", () => {
  const html = builtinLocalizedPages.byLanguage.en.confirm({
    ...WITHOUT_CERTIFICATE,
    commonName: "alice-laptop",
  });
  assertStringIncludes(
    intro(html),
    "for certificate <strong><bdi>alice-laptop</bdi></strong> from",
  );
  assertEquals(html.includes("alice<"), false);
});

Deno.test("the user name a client sent is escaped on the confirm page, its controls shown, and isolated", () => {
  const html = builtinLocalizedPages.byLanguage.en.confirm({
    ...WITHOUT_CERTIFICATE,
    username: `<script>x</script>"\u202eecila`,
  });
  assertEquals(html.includes("<script"), false);
  assertEquals(html.includes("\u202e"), false);
  assertStringIncludes(
    intro(html),
    "for user name <strong><bdi>&lt;script&gt;x&lt;/script&gt;&quot;\\u202eecila</bdi></strong> from",
  );
});

Deno.test("GET /login/:id of a client without a certificate names the user name it sent", async () => {
  const ctx = await appSetup({ stored: { commonName: "", username: "alice" } });
  const response = await ctx.request(`/login/${ID}`);
  assertEquals(response.status, 200);
  assertStringIncludes(
    await response.text(),
    "VPN connection for user name <strong><bdi>alice</bdi></strong> from " +
      "<strong><bdi>198.51.100.7</bdi></strong>",
  );
});

Deno.test("the sign-in of a client without a certificate is logged and audited as such", async () => {
  const stored = { commonName: "", username: "alice" };
  const ctx = await appSetup({ confirmLogin: false, stored });
  const lines = await logsOf(async () => {
    const { cookie } = await openWithoutConfirm(ctx);
    await ctx.request("/oauth2/callback?code=abc&state=state-1", { headers: { cookie } });
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
