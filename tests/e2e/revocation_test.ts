/**
 * Ending VPN sessions from the IdP: alice signs in over real OpenVPN in a real browser, then
 * logs out at the IdP (its end-session page, "Sign out"); the IdP posts a logout token to the
 * bridge, which kills her client, and her client cannot get back in without signing in again.
 * Needs root, openvpn and chromium.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import type { Lab } from "./lib/lab.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { type StackOptions, withStack } from "./lib/stack.ts";
import { pollUntil } from "./lib/wait.ts";

const skip = announceSkip("the e2e revocation tests", browserLabSkipReason());

/** The recommended server setup: OpenVPN's own token, so sessions have a session_id. */
const TOKEN_SERVER: StackOptions["lab"] = {
  server: { authGenToken: { lifetimeSec: 0, renewalSec: 43200, externalAuth: true } },
};

/** The management commands OpenVPN received, as its log echoes them. */
async function serverCommandLines(lab: Lab): Promise<string[]> {
  const log = await lab.server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '([^']*)'/g)].map((m) => m[1]!);
}

Deno.test({
  name:
    "alice logs out at the IdP: back-channel logout kills her VPN client before the IdP says signed out, and " +
    "it cannot reconnect without signing in",
  ignore: skip !== undefined,
  async fn() {
    await withStack(
      { lab: TOKEN_SERVER, bridge: { sessionsBackend: "file", logLevel: "debug" } },
      async (stack) => {
        const client = await stack.lab.startClient({ name: "alice-laptop" });
        await stack.signIn(client, "alice", "alice-password");
        const connected = await client.waitForState("CONNECTED", 20_000);
        const cid = await pollUntil("the client-auth command in the server log", async () => {
          const auth = (await serverCommandLines(stack.lab)).find((c) =>
            c.startsWith("client-auth ")
          );
          return auth === undefined ? undefined : Number(auth.split(" ")[1]);
        }, 5000);

        // The same browser still has her IdP session: log out there, as a user would.
        const browser = await stack.browser();
        await browser.page.goto(`${stack.idp.issuer}/session/end`, { waitUntil: "load" });
        const since = client.lines.length;
        const clickedAt = performance.now();
        await Promise.all([
          browser.page.waitForNavigation({ waitUntil: "load" }),
          browser.page.click("#kc-logout"),
        ]);
        assertMatch(await browser.page.locator("body").innerText(), /signed out/i);
        assertEquals(stack.idp.backchannelErrors, []);

        // The IdP waits for the back-channel answers before it shows "signed out": by now the
        // bridge has verified the token and told OpenVPN to kill her client.
        const commands = await serverCommandLines(stack.lab);
        assert(commands.includes(`client-kill ${cid} "RESTART"`), commands.join("\n"));
        // A bound for the wait, not a timing promise: the figure is printed (bench/ for timing).
        const dropped = await client.waitForState("RECONNECTING", 20_000, since);
        const latencyMs = performance.now() - clickedAt;
        console.log(`IdP logout confirmed -> client RECONNECTING after ${latencyMs.toFixed(0)} ms`);
        assert(dropped.lineIndex > connected.lineIndex);
        assertMatch(stack.bridge.log, /Back-channel logout \("?sid"?\): 1 session\(s\) ended/);

        // Back it comes at once (RESTART), and is sent to the browser: no session to resume.
        await client.waitForState("AUTH_PENDING", 20_000, dropped.lineIndex);
        const urls = client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
        assertEquals(urls.length, 2, "The reconnecting client was not asked to sign in");
        const states = client.management.states().filter((s) => s.lineIndex > dropped.lineIndex);
        assertEquals(states.some((s) => s.name === "CONNECTED"), false);

        // Signing in again works as the first time.
        await stack.signIn(client, "alice", "alice-password", { since: dropped.lineIndex });
        await client.waitForState("CONNECTED", 20_000, dropped.lineIndex);
      },
    );
  },
});

const RECHECK_SEC = 20;

Deno.test({
  name: "periodic re-check with reneg-sec 0 on both ends: alice, disabled at the IdP, is " +
    "disconnected within one interval and cannot get back in",
  ignore: skip !== undefined,
  async fn() {
    await withStack({
      // OpenVPN refuses auth-gen-token with reneg-sec 0: no session_id, no token.
      lab: { server: { renegSec: 0 } },
      bridge: { sessionsToml: `recheck_interval = "${RECHECK_SEC}s"` },
    }, async (stack) => {
      const client = await stack.lab.startClient({ name: "alice-laptop", renegSec: 0 });
      await stack.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);
      // Connected for a full interval: the re-check lets an allowed user be.
      const since = client.lines.length;
      await new Promise((resolve) => setTimeout(resolve, (RECHECK_SEC + 2) * 1000));
      const quiet = client.management.states().filter((s) => s.lineIndex >= since);
      assertEquals(quiet.some((s) => s.name === "RECONNECTING"), false);

      stack.idp.setDisabled("alice", true);
      const disabledAt = performance.now();
      const dropped = await client.waitForState("RECONNECTING", (RECHECK_SEC + 5) * 1000, since);
      const latencyMs = performance.now() - disabledAt;
      console.log(
        `disabled at the IdP -> client RECONNECTING after ${latencyMs.toFixed(0)} ms ` +
          `(interval ${RECHECK_SEC} s)`,
      );
      // Back it comes, and is sent to the browser, where a disabled user cannot sign in.
      await client.waitForState("AUTH_PENDING", 20_000, dropped.lineIndex);
      const after = client.management.states().filter((s) => s.lineIndex > dropped.lineIndex);
      assertEquals(after.some((s) => s.name === "CONNECTED"), false);
      const commands = await serverCommandLines(stack.lab);
      assert(commands.some((c) => /^client-kill \d+ "RESTART"$/.test(c)), commands.join("\n"));
    });
  },
});
