/**
 * The reconnect back-off starts over once a link came up: after a drop, the first attempt waits
 * the shortest delay again, not the one the failures before the link grew to (up to
 * openvpn.reconnect_max_delay, a minute by default, of a link down for nothing). A scripted
 * socket plays OpenVPN; the delays are read from the connection's own log line.
 */
import type { Socket } from "node:net";
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { ScriptedSocket } from "../../support/scripted_socket.ts";
import { ManagementConnection } from "../../../src/management/connection.ts";

/** Lets the socket's events (microtasks) and what they start run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a link that came up starts the reconnect back-off over: the next drop waits the shortest delay", async () => {
  const clock = new FakeClock();
  const sockets: ScriptedSocket[] = [];
  const connection = new ManagementConnection({
    address: { kind: "unix", path: "/nonexistent/management.sock" },
    commandTimeoutMs: 2000,
    reconnectMinDelayMs: 200,
    reconnectMaxDelayMs: 60_000,
    clock,
    // No jitter: each delay is half its base (200 ms, doubled per failure in a row).
    random: () => 0,
    createSocket: () => {
      const socket = new ScriptedSocket(() => false);
      sockets.push(socket);
      return socket as unknown as Socket;
    },
  });
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
