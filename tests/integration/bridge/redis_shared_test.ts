/**
 * Two bridges, each in front of its own (scripted) OpenVPN server, sharing one redis-server: a
 * client signed in through the first (server "default") reconnects with its OpenVPN token to the
 * second's server ("other") and is resumed there without a browser, and the session moves to
 * that server and cid.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";

Deno.test("Redis store: a session signed in through one bridge resumes through another", async () => {
  const redis = await RedisServer.start();
  const sessionsToml = `url = "${redis.url}"`;
  const first = await BridgeHarness.start({ sessions: "redis", sessionsToml });
  const second = await BridgeHarness.start({
    sessions: "redis",
    sessionsToml,
    servers: [{ name: "other" }],
  });
  try {
    const env = { session_id: "s-shared", username: "alice" };
    const url = await first.connect(0, env);
    let mark = first.openvpn.received.length;
    assertEquals((await first.browserLogin(url, "alice", "alice-password")).status, 200);
    await first.waitForCommand(mark, (line) => line === "client-auth 0 1");

    mark = second.openvpn.received.length;
    second.openvpn.sendClientBlock(
      "CONNECT",
      5,
      1,
      clientEnv({ ...env, session_state: "Authenticated" }),
    );
    const answer = await second.waitForCommand(
      mark,
      (line) => line.startsWith("client-auth 5 1") || line.startsWith("client-deny 5 1"),
    );
    assertEquals(answer, "client-auth 5 1");

    const store = await openSessionStore(second.config.sessions, second.config.http.secret);
    try {
      const session = await store.getSession("s-shared");
      assertEquals([session?.server, session?.cid, session?.username], ["other", 5, "alice"]);
    } finally {
      await store.close();
    }
  } finally {
    await first.stop();
    await second.stop();
    await redis.dispose();
  }
});
