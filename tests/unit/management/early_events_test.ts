/**
 * Events that arrive before the management handshake ends are held for the link's consumers,
 * up to a bound; past it they are dropped. A peer flooding the link then (a broken OpenVPN, a
 * local user who bound the management port first) costs the log two lines, not one per event.
 */
import type { Socket } from "node:net";
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { clientBlockLines, OPENVPN_VERSION_LINE, wire } from "../../support/openvpn_side.ts";
import { ScriptedSocket } from "../../support/scripted_socket.ts";
import { ManagementConnection } from "../../../src/management/connection.ts";

Deno.test("a flood of events during the handshake is logged once when the dropping starts and once with the count", async () => {
  const logs = captureLogs();
  // `version` is the handshake's last step: unanswered, the link is not up yet.
  const socket = new ScriptedSocket((line) => line === "version");
  const connection = new ManagementConnection({
    address: { kind: "unix", path: "/nonexistent/management.sock" },
    commandTimeoutMs: 2000,
    reconnectMaxDelayMs: 60_000,
    clock: new FakeClock(),
    createSocket: () => socket as unknown as Socket,
  });
  const connects: number[] = [];
  connection.onEvent((event) => {
    if (event.type === "client-connect") connects.push(event.cid);
  });
  try {
    connection.start();
    socket.open();
    await tick();
    const lines: string[] = [];
    for (let cid = 0; cid < 5000; cid++) lines.push(...clientBlockLines("CONNECT", cid, 1, {}));
    socket.emit("data", wire(lines));
    await tick();
    socket.emit("data", wire([OPENVPN_VERSION_LINE, "Management Version: 5", "END"]));
    await tick();
    assertEquals(connection.status().linkUp, true);
    // Held up to the bound (with whatever else came before the link was up), in order.
    assertEquals(connects, [...Array(connects.length).keys()]);
    assertEquals(connects.length > 4000, true, `${connects.length} delivered`);
    const dropped = logs.lines.filter((line) => line.text.includes("during the handshake"));
    assertEquals(dropped.map((line) => line.level), ["error", "error"], `${dropped.length} lines`);
    assertEquals(dropped[1]!.properties["count"], 5000 - connects.length);
  } finally {
    await connection.close();
    logs.stop();
  }
});

/** Lets the scripted replies (microtasks) and what they start run. */
async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
