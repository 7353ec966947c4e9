/**
 * http.default_language with the real bridge: the VPN client's message is in the default
 * language while the browser's page follows its own Accept-Language.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";
import { bridgeLoginOverHttp } from "../../support/bridge_browser.ts";

Deno.test("default_language = de: bob's VPN client is told in German, his English browser in English", async () => {
  const h = await BridgeHarness.start();
  try {
    const german = h.toml.replace("[http]\n", '[http]\ndefault_language = "de"\n');
    await h.reload(german);
    const url = await h.connect(1, { common_name: "bob", session_id: "s-bob" });
    const mark = h.openvpn.received.length;
    const page = await bridgeLoginOverHttp(url, h.baseUrl, "bob", "bob-password", {
      acceptLanguage: "en-US,en;q=0.9",
    });
    assertEquals(page.status, 403);
    assertStringIncludes(page.text, "You are not in a group allowed to use this VPN");
    assertEquals(
      await h.waitForCommand(mark, (line) => line.startsWith("client-kill 1 ")),
      'client-kill 1 "HALT,Sie sind in keiner Gruppe, die dieses VPN nutzen darf"',
    );
  } finally {
    await h.stop();
  }
});

Deno.test("default_language = fr: a browser that names no language we have gets French pages", async () => {
  const h = await BridgeHarness.start();
  try {
    await h.reload(h.toml.replace("[http]\n", '[http]\ndefault_language = "fr"\n'));
    const url = await h.connect(1, { common_name: "bob", session_id: "s-bob" });
    const page = await bridgeLoginOverHttp(url, h.baseUrl, "bob", "bob-password", {
      acceptLanguage: "ja-JP",
    });
    assertEquals(page.status, 403);
    assertStringIncludes(page.text, "Vous n’appartenez à aucun groupe autorisé à utiliser ce VPN");
  } finally {
    await h.stop();
  }
});
