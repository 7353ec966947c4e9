/**
 * `sessions revoke` while Redis is stopped, through the real bridge's control socket and the
 * admin command: README says the command tells that the revoke is kept and carried out once the
 * store answers, and exits 1; it need not be run again, and is carried out once Redis is back.
 */
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { adminCli } from "../../support/admin_cli.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";
import { rawControlRequest } from "../../support/control_socket.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { EXIT_RUNTIME, runCli } from "../../../src/cli.ts";
import { sendControlRequest } from "../../../src/control/client.ts";

const KEPT = "the revoke is kept and carried out once the store answers";

Deno.test("sessions revoke while Redis is down: told it is kept, exits 1, and is carried out once Redis is back", async () => {
  const redis = await RedisServer.start({ persist: true });
  let h: BridgeHarness | undefined;
  try {
    h = await BridgeHarness.start({
      sessions: "redis",
      sessionsToml: [`url = "${redis.url}"`, `store_timeout = "300ms"`].join("\n"),
    });
    await h.signIn(0, { session_id: "s-a" });
    await redis.stop();
    const mark = h.openvpn.received.length;

    const answer = await rawControlRequest(
      join(h.dir, "control.sock"),
      '{"command":"sessions.revoke","user":"alice"}\n',
      { halfClose: true },
    );
    const response = JSON.parse(answer);
    assertEquals(response.ok, false, answer);
    assertStringIncludes(response.error, `Session store unreachable: ${KEPT}`);

    // The admin command, on the real transport to the same socket.
    const cli = adminCli(undefined, { "/x.toml": h.toml });
    const io = { ...cli.io, sendControl: sendControlRequest };
    const code = await runCli(["-c", "/x.toml", "sessions", "revoke", "--user", "alice"], io);
    assertEquals(code, EXIT_RUNTIME, cli.err());
    assertStringIncludes(cli.err(), `the service refused the request: `);
    assertStringIncludes(cli.err(), KEPT);

    // Nothing carried out yet: the store cannot be asked who alice's clients are.
    assertEquals(h.commandsSince(mark).filter((line) => line.startsWith("client-kill")), []);
    await redis.start();
    // Kept since the first failure, retried after 1 s doubling: the kill comes without a rerun.
    const kill = await h.waitForCommand(mark, (line) => line.startsWith("client-kill 0 "), 30_000);
    assertStringIncludes(kill, "An administrator ended your VPN session");
    assertEquals(await h.readSession("s-a"), undefined, "the session is deleted");
  } finally {
    await h?.stop();
    await redis.dispose();
  }
});
