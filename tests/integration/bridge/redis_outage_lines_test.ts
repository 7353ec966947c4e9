/**
 * What the log says of one Redis outage under the real bridge (no cluster) on a real
 * redis-server, stopped and started again: the session store's connection is lost once and
 * restored once; the server-name claims, on a connection of their own, say so in their own
 * words only, with the error's message; a new client's denial says why once.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { type CapturedLine, captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";

/** The first line with `text` in it, waited for up to `ms`. */
async function lineWith(lines: CapturedLine[], text: string, ms = 15_000): Promise<CapturedLine> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = lines.find((line) => line.text.includes(text));
    if (found !== undefined) return found;
    assert(Date.now() < deadline, `no line with ${text} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("bridge on Redis: one outage is one 'Session store connection lost' and one 'restored'; the claims and a denial say their error once, as its message", async () => {
  const redis = await RedisServer.start();
  try {
    const h = await BridgeHarness.start({
      sessions: "redis",
      sessionsToml: `url = "${redis.url}"\nstore_timeout = "300ms"`,
    });
    const logs = captureLogs();
    try {
      await redis.stop();
      await lineWith(logs.lines, "Session store connection lost");
      const mark = h.openvpn.received.length;
      h.openvpn.sendClientBlock("CONNECT", 8, 1, clientEnv({ common_name: "erin" }));
      await h.waitForCommand(mark, (line) => line.startsWith("client-deny 8 1 "));
      const claims = await lineWith(logs.lines, "Claims on OpenVPN server names: Redis did not");
      await redis.start();
      await lineWith(logs.lines, "Session store connection restored");
      await lineWith(logs.lines, "Claims on OpenVPN server names: Redis answers again");
      // Long enough for a second connection's line, which came within a millisecond.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const told = (text: string) => logs.lines.filter((line) => line.text.includes(text));
      assertEquals(told("Session store connection lost").length, 1);
      assertEquals(told("Session store connection restored").length, 1);
      assert(!String(claims.properties.error).startsWith("Error:"), claims.text);
      const [denied] = told("CONNECT on cid 8 (certificate erin) denied");
      assert(denied !== undefined, "the denial's line");
      assert(
        denied.text.startsWith(
          "CONNECT on cid 8 (certificate erin) denied: session store unreachable: ",
        ),
      );
      assertEquals(denied.text.toLowerCase().split("session store unreachable").length, 2);
    } finally {
      logs.stop();
      await h.stop();
    }
  } finally {
    await redis.dispose();
  }
});
