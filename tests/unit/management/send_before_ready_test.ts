/**
 * ManagementConnection.send() before the handshake has ended: refused, and nothing written.
 * A command written then would reach OpenVPN ahead of (or as) the password line, or be
 * answered in place of a handshake command. A scripted socket plays OpenVPN; no real socket.
 */
import type { Socket } from "node:net";
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { ScriptedSocket } from "../../support/scripted_socket.ts";
import { clientDeny } from "../../../src/management/commands.ts";
import { ManagementConnection } from "../../../src/management/connection.ts";
import type { ManagementConnectionError } from "../../../src/management/errors.ts";

/** Lets queued microtasks and what they start run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("send() while the handshake is under way rejects as not-connected and writes nothing", async () => {
  const clock = new FakeClock();
  // Silent to `version`: the handshake stays under way.
  const socket = new ScriptedSocket((line) => line === "version");
  const connection = new ManagementConnection({
    address: { kind: "unix", path: "/nonexistent/management.sock" },
    commandTimeoutMs: 2000,
    reconnectMaxDelayMs: 60_000,
    clock,
    createSocket: () => socket as unknown as Socket,
  });
  try {
    connection.start();
    socket.open();
    await settle();
    assertEquals(socket.written, ["version"]);
    let outcome = "waiting";
    connection.send(clientDeny(1, 1, "test")).then(
      (reply) => (outcome = reply.type),
      (error: ManagementConnectionError) => (outcome = error.code),
    );
    await settle();
    assertEquals(outcome, "not-connected");
    assertEquals(socket.written, ["version"], "a command was written before the link was up");
  } finally {
    await connection.close();
  }
});
