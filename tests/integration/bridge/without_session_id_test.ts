/**
 * Without auth-gen-token (and so always with reneg-sec 0) OpenVPN sends no session_id: the
 * bridge keeps the session under an id of its own, so it can be listed, revoked and re-checked,
 * and ends it when the client leaves.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { sendControlRequest } from "../../../src/control/client.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

async function sessions(h: BridgeHarness) {
  const store = await openSessionStore(h.config.sessions, h.config.http.secret);
  try {
    return await collectPages(store.sessionPages());
  } finally {
    await store.close();
  }
}

Deno.test("a login without session_id is kept under an id of its own, not resumable, ended at DISCONNECT", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    const url = await h.connect(3, { session_id: "", username: "alice" });
    const mark = h.openvpn.received.length;
    assertEquals((await h.browserLogin(url, "alice", "alice-password")).status, 200);
    await h.waitForCommand(mark, (line) => line === "client-auth 3 1");
    const [kept, ...others] = await sessions(h);
    assertEquals(others, []);
    assert(kept!.sessionId.startsWith("client:default:3:"), kept!.sessionId);
    assertEquals(kept!.cid, 3);
    assertEquals(kept!.resumable, false);

    // The admin command sees it and can end it by its id.
    const listed = await sendControlRequest(h.config.control.socket, { command: "sessions.list" });
    assert(listed.ok && "sessions" in listed);
    assertEquals(listed.sessions.map((s) => s.sessionId), [kept!.sessionId]);

    h.openvpn.sendClientBlock("DISCONNECT", 3, undefined, clientEnv({ session_id: "" }));
    for (let i = 0; i < 50 && (await sessions(h)).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(await sessions(h), []);
  } finally {
    await h.stop();
  }
});
