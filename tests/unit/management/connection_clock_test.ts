/**
 * ManagementConnection's command deadlines when the wall clock is stepped (chrony, an admin):
 * they are durations on this host, so a step either way changes nothing. A scripted socket
 * plays OpenVPN (replies as recorded, tests/support/openvpn_side.ts); no real socket.
 */
import type { Socket } from "node:net";
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { ScriptedSocket } from "../../support/scripted_socket.ts";
import { clientDeny } from "../../../src/management/commands.ts";
import {
  COMMAND_TIMEOUT_LIMITS_MS,
  ManagementConnection,
} from "../../../src/management/connection.ts";
import type { ManagementConnectionError } from "../../../src/management/errors.ts";

const TIMEOUT_MS = 2000;
const HOUR = 3_600_000;

/** Lets the scripted replies (microtasks) and what they start run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A connection to a scripted OpenVPN that never answers `client-deny 2 …`, up and ready. */
async function connected() {
  const clock = new FakeClock();
  const socket = new ScriptedSocket((line) => line.startsWith("client-deny 2 "));
  const connection = new ManagementConnection({
    address: { kind: "unix", path: "/nonexistent/management.sock" },
    commandTimeoutMs: TIMEOUT_MS,
    reconnectMaxDelayMs: 60_000,
    clock,
    createSocket: () => socket as unknown as Socket,
  });
  connection.start();
  socket.open();
  await settle();
  assertEquals(connection.status().linkUp, true);
  /** Sends a command; `outcome()` tells what became of it so far. */
  const send = (cid: number, timeoutMs?: number) => {
    let outcome = "waiting";
    connection.send(clientDeny(cid, 1, "test"), timeoutMs === undefined ? {} : { timeoutMs })
      .then(
        (reply) => (outcome = reply.type),
        (error: ManagementConnectionError) => (outcome = error.code),
      );
    return { outcome: () => outcome };
  };
  return { clock, connection, send };
}

Deno.test("a command OpenVPN never answers times out on time though the wall clock was stepped back an hour", async () => {
  const t = await connected();
  try {
    const unanswered = t.send(2);
    await settle();
    t.clock.stepWall(-HOUR);
    t.clock.advance(TIMEOUT_MS - 1);
    await settle();
    assertEquals(unanswered.outcome(), "waiting");
    t.clock.advance(1);
    await settle();
    assertEquals(
      unanswered.outcome(),
      "timeout",
      "not timed out a command timeout after it was sent",
    );
  } finally {
    await t.connection.close();
  }
});

Deno.test("a command in flight is given its whole timeout though the wall clock was stepped forward an hour", async () => {
  const t = await connected();
  try {
    // Answered at once, yet its deadline wakes the link a command timeout after it was sent.
    const answered = t.send(1);
    await settle();
    assertEquals(answered.outcome(), "success");
    t.clock.advance(TIMEOUT_MS / 2);
    const unanswered = t.send(2);
    await settle();
    t.clock.stepWall(HOUR);
    t.clock.advance(TIMEOUT_MS / 2);
    await settle();
    assertEquals(
      unanswered.outcome(),
      "waiting",
      "timed out half a command timeout after it was sent",
    );
    t.clock.advance(TIMEOUT_MS / 2);
    await settle();
    assertEquals(unanswered.outcome(), "timeout");
  } finally {
    await t.connection.close();
  }
});

Deno.test("a send() timeout past the timer limit arms no timer beyond it, and still times out on time", async () => {
  const t = await connected();
  try {
    const timeoutMs = 2 ** 31 + 60_000;
    const unanswered = t.send(2, timeoutMs);
    await settle();
    t.clock.advance(timeoutMs - 1);
    await settle();
    assertEquals(unanswered.outcome(), "waiting");
    t.clock.advance(1);
    await settle();
    assertEquals(unanswered.outcome(), "timeout");
    // Woken every longest command timeout meanwhile: a wake-up is cheap, a storm is not.
    const longest = Math.max(...t.clock.delays);
    assert(longest <= COMMAND_TIMEOUT_LIMITS_MS.max, `a timer armed ${longest} ms ahead`);
  } finally {
    await t.connection.close();
  }
});
