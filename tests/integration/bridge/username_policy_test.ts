/**
 * openvpn.username_policy through the real daemon: its default when the key is left out, and a
 * reload that changes it for the next login without touching the management link.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";

const MUST_MATCH = '"HALT,Your VPN user name must be the one you sign in with, including case"';
const EMPTY_OR_MATCH =
  '"HALT,Your VPN user name must be empty or the one you sign in with, including case"';

/** A CONNECT from alice's certificate naming itself `username`, signed in as alice. */
async function signIn(h: BridgeHarness, cid: number, username: string): Promise<string> {
  const url = await h.connect(cid, { common_name: "alice", username, session_id: `s-${cid}` });
  const mark = h.openvpn.received.length;
  await h.browserLogin(url, "alice", "alice-password");
  return await h.waitForCommand(
    mark,
    // A refused sign-in is halted (refusal.ts).
    (line) => line.startsWith(`client-auth ${cid} 1`) || line.startsWith(`client-kill ${cid} `),
  );
}

Deno.test("reload: openvpn.username_policy applies to the next login, the link stays", async () => {
  const policy = 'username_policy = "match"';
  const h = await BridgeHarness.start({ servers: [{ name: "default", toml: policy }] });
  try {
    const connections = h.openvpn.connections;
    // "match": a dummy user name (what some VPN GUIs insist on) and an empty one are refused.
    assertStringIncludes(await signIn(h, 0, "dummy"), MUST_MATCH);
    assertStringIncludes(await signIn(h, 1, ""), MUST_MATCH);

    assertEquals(
      (await h.reload(h.toml.replace(policy, 'username_policy = "any"'))).kept,
      [],
    );
    assertEquals(await signIn(h, 2, "dummy"), "client-auth 2 1");

    // Key left out: the daemon's own default, "empty_or_match".
    assertEquals((await h.reload(h.toml.replace(policy, ""))).kept, []);
    assertEquals(await signIn(h, 3, ""), "client-auth 3 1");
    assertEquals(await signIn(h, 4, "alice"), "client-auth 4 1");
    const denied = await signIn(h, 5, "dummy");
    assertStringIncludes(denied, "client-kill 5 ");
    assertStringIncludes(denied, EMPTY_OR_MATCH);
    assertEquals(h.openvpn.connections, connections);
  } finally {
    await h.stop();
  }
});
