/**
 * The reconnect back-off starts over once a link came up: after a drop, the first attempt waits
 * the shortest delay again, not the one the failures before the link grew to (up to
 * openvpn.reconnect_max_delay, a minute by default, of a link down for nothing). A scripted
 * socket plays OpenVPN; the delays are read from the connection's own log line.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { scriptedConnection, settle } from "../../support/scripted_socket.ts";

Deno.test("a link that came up starts the reconnect back-off over: the next drop waits the shortest delay", async () => {
  const clock = new FakeClock();
  const { connection, sockets } = scriptedConnection(
    { kind: "unix", path: "/nonexistent/management.sock" },
    60_000,
    clock,
  );
  const logs = captureLogs();
  const delays = () =>
    logs.lines.filter((line) => line.text.startsWith("Reconnecting to"))
      .map((line) => line.properties.delay);
  try {
    connection.start();
    // Three attempts refused in a row: the delays grow.
    for (let attempt = 0; attempt < 3; attempt++) {
      const socket = sockets[attempt]!;
      socket.emit(
        "error",
        Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      );
      socket.destroy();
      await settle();
      clock.advance(delays().at(-1) as number);
      await settle();
    }
    assertEquals(delays(), [100, 200, 400]);
    // The fourth attempt connects; OpenVPN is then restarted under it.
    sockets[3]!.open();
    await settle();
    assertEquals(connection.status().linkUp, true);
    sockets[3]!.destroy();
    await settle();
    assertEquals(delays(), [100, 200, 400, 100], "the drop after a link-up waited the grown delay");
  } finally {
    logs.stop();
    await connection.close();
  }
});
