/**
 * README "Reload": `openvpn.bypass_common_names`, `auth_pending_timeout` and the pages
 * (`confirm_login`, `templates_dir`) are live; new `[[client_config]]` lines reach a client as
 * it connects or reconnects. Each test runs the real daemon in process, sees
 * the start-up behaviour, reloads, and sees the new one, so a part that kept reading the
 * start-up config fails here (the merged config alone is checked in
 * tests/unit/config_loader/reload_live_keys_test.ts; `default_language` in languages_test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";

/** Opens a login link as a browser would, without following redirects. */
async function openLink(url: string): Promise<{ status: number; location: string; text: string }> {
  const response = await fetch(url, { redirect: "manual" });
  return {
    status: response.status,
    location: response.headers.get("location") ?? "",
    text: await response.text(),
  };
}

Deno.test("reload: confirm_login = false sends the next login link straight to the IdP", async () => {
  const h = await BridgeHarness.start();
  try {
    const before = await openLink(await h.connect(0, { session_id: "s-0" }));
    assertEquals(before.status, 200);
    assertMatch(before.text, /name="csrf" value="[^"]+"/);

    const off = h.toml.replace("[http]\n", "[http]\nconfirm_login = false\n");
    assertEquals((await h.reload(off)).kept, []);
    // The first GET only sets the binding cookie (a link preview keeps none); the browser's
    // return with it goes to the IdP.
    const link = await h.connect(1, { session_id: "s-1" });
    const first = await fetch(link, { redirect: "manual" });
    assertEquals(first.status, 200);
    const refresh = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(await first.text())?.[1];
    assert(refresh !== undefined, "no refresh to the return URL");
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0]!;
    const returned = await fetch(refresh.replaceAll("&amp;", "&"), {
      redirect: "manual",
      headers: { cookie },
    });
    const after = {
      status: returned.status,
      location: returned.headers.get("location") ?? "",
      text: await returned.text(),
    };
    assertEquals(after.status, 303, `expected a redirect to the IdP, got: ${after.text}`);
    const location = new URL(after.location);
    assert(
      location.href.startsWith(`${h.idp.issuer}/`),
      `not the IdP: ${location.href}`,
    );
    assertEquals(location.searchParams.get("client_id"), "openvpn");
    assertEquals(location.searchParams.get("redirect_uri"), `${h.baseUrl}/oauth2/callback`);
  } finally {
    await h.stop();
  }
});

Deno.test("reload: a new auth_pending_timeout is the next client-pending-auth's timeout", async () => {
  const h = await BridgeHarness.start({ authPendingTimeout: "3m" });
  try {
    const timeoutOf = async (cid: number) => {
      const mark = h.openvpn.received.length;
      await h.connect(cid, { session_id: `s-${cid}` });
      const line = await h.waitForCommand(
        mark,
        (l) => l.startsWith(`client-pending-auth ${cid} 1 `),
      );
      return Number(/ (\d+)$/.exec(line)?.[1]);
    };
    const before = await timeoutOf(0);
    assert(before >= 180, `start-up timeout: ${before}`);

    const shorter = h.toml.replace('auth_pending_timeout = "3m"', 'auth_pending_timeout = "1m"');
    assertEquals((await h.reload(shorter)).kept, []);
    // The same grace on top of two minutes less.
    assertEquals(await timeoutOf(1), before - 120);
  } finally {
    await h.stop();
  }
});

Deno.test("reload: a common name added to bypass_common_names gets client-auth-nt", async () => {
  const h = await BridgeHarness.start();
  try {
    // Before: an ordinary client, sent to the browser.
    await h.connect(0, { common_name: "monitor-01", session_id: "s-0" });

    const bypass = h.toml.replace(
      'reconnect_max_delay = "1s"\n',
      'reconnect_max_delay = "1s"\nbypass_common_names = ["monitor-[0-9]+"]\n',
    );
    assertEquals((await h.reload(bypass)).kept, []);
    const mark = h.openvpn.received.length;
    // Accepted at once: no browser, even for a client that could not open one.
    h.openvpn.sendClientBlock(
      "CONNECT",
      1,
      1,
      clientEnv({ common_name: "monitor-01", session_id: "s-1", IV_SSO: "" }),
    );
    assertEquals(
      await h.waitForCommand(mark, (l) => / 1 1\b/.test(l) && l.startsWith("client-")),
      "client-auth-nt 1 1",
    );
    // A name the pattern does not match still signs in.
    await h.connect(2, { common_name: "monitor-x", session_id: "s-2" });
  } finally {
    await h.stop();
  }
});

Deno.test("reload: templates_dir puts the custom confirm page in force for the next login", async () => {
  const templates = mkdtempSync(join(tmpdir(), "bridge-templates-"));
  const h = await BridgeHarness.start();
  try {
    const style = "body{color:#123456}";
    writeFileSync(
      join(templates, "confirm.html"),
      `<!doctype html><html><head><style>${style}</style></head><body>
<h1>ACME VPN sign-in for {{commonName}}</h1>
<form method="post" action="{{actionUrl}}">
<input type="hidden" name="csrf" value="{{csrf}}"><button>Go</button>
</form></body></html>`,
    );
    const before = await openLink(await h.connect(0, { session_id: "s-0" }));
    assertEquals(before.status, 200);
    assertNotMatch(before.text, /ACME VPN/);

    const custom = h.toml.replace("[http]\n", `[http]\ntemplates_dir = "${templates}"\n`);
    assertEquals((await h.reload(custom)).kept, []);
    const url = await h.connect(1, { common_name: "carol", session_id: "s-1" });
    const response = await fetch(url);
    const text = await response.text();
    assertEquals(response.status, 200);
    assertStringIncludes(text, "<h1>ACME VPN sign-in for carol</h1>");
    assertStringIncludes(text, `action="${url}"`);
    assertMatch(text, /name="csrf" value="[^"]+"/);
    // The page's own style is allowed by the rebuilt Content-Security-Policy.
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(style));
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    assertStringIncludes(response.headers.get("content-security-policy") ?? "", `'sha256-${hash}'`);
  } finally {
    await h.stop();
    rmSync(templates, { recursive: true, force: true });
  }
});

Deno.test("reload: new [[client_config]] lines go to a client as it reconnects; a connected one keeps its own", async () => {
  const h = await BridgeHarness.start();
  const pushed = (lines: string[]) => lines.filter((line) => line.startsWith("push "));
  try {
    const env = { session_id: "s-0", username: "alice", session_state: "Authenticated" };
    let mark = h.openvpn.received.length;
    await h.signIn(0, { session_id: "s-0", username: "alice" });
    assertEquals(pushed(h.commandsSince(mark)), ['push "route 10.10.0.0 255.255.0.0"']);

    const moved = h.toml.replace("route 10.10.0.0", "route 10.20.0.0");
    assertEquals((await h.reload(moved)).kept, []);
    // OpenVPN applies lines only while it sets a connection up (multi.c): a REAUTH gets none.
    mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 0, 2, clientEnv(env));
    assertEquals(
      await h.waitForCommand(mark, (l) => l.startsWith("client-")),
      "client-auth-nt 0 2",
    );
    // The same session reconnecting with its token: admitted with the new lines.
    mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("CONNECT", 1, 1, clientEnv(env));
    await h.waitForCommand(mark, (l) => l === "END");
    const answer = h.commandsSince(mark);
    assertEquals(answer[0], "client-auth 1 1");
    assertEquals(pushed(answer), ['push "route 10.20.0.0 255.255.0.0"']);
  } finally {
    await h.stop();
  }
});
