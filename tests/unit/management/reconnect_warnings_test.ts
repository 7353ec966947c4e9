/**
 * A management interface that stays down is warned about once at its first failed attempt, with
 * what to check, then once a minute with how many attempts failed between; the attempts between
 * and the reconnect delays are at debug. A link that comes up starts that over. A scripted socket
 * plays OpenVPN refusing the connection; the fake clock moves the reconnect timers.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { scriptedConnection, settle } from "../../support/scripted_socket.ts";
import { WARNING_INTERVAL_MS } from "../../../src/warning_interval.ts";

const FAILED = "Management connection to ";
const ADVICE = "is OpenVPN running, and is this its --management address (openvpn.management)?";

Deno.test("management attempts to a server that stays down: the first failure warns with advice, then one warning a minute with the count between, the rest at debug", async () => {
  const clock = new FakeClock();
  const { connection, sockets } = scriptedConnection(
    { kind: "tcp", host: "127.0.0.1", port: 7505 },
    20_000,
    clock,
  );
  const logs = captureLogs();
  const refuse = async () => {
    const socket = sockets.at(-1)!;
    socket.emit(
      "error",
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    );
    socket.destroy();
    await settle();
  };
  const lastDelay = () =>
    logs.lines.findLast((line) => line.text.startsWith("Reconnecting to"))!.properties
      .delay as number;
  try {
    connection.start();
    // Failures at 0 ms, then each after its delay, until two and a half minutes have passed.
    const failedAt: number[] = [];
    for (let elapsed = 0; elapsed <= 2.5 * WARNING_INTERVAL_MS;) {
      await refuse();
      failedAt.push(elapsed);
      const delay = lastDelay();
      clock.advance(delay);
      elapsed += delay;
      await settle();
    }
    const failed = logs.lines.filter((line) => line.text.startsWith(FAILED));
    assertEquals(failed.length, failedAt.length, "every failure is logged at some level");
    const warned = failed.flatMap((line, i) => line.level === "warning" ? [i] : []);
    // Due once a minute has passed since the last warning: the failure that first gets there.
    const expected = [0];
    for (const [i, at] of failedAt.entries()) {
      if (at - failedAt[expected.at(-1)!]! >= WARNING_INTERVAL_MS) expected.push(i);
    }
    assert(expected.length >= 3, `${failedAt.length} failures over ${failedAt.at(-1)} ms`);
    assertEquals(warned, expected);
    assert(failed[0]!.text.endsWith(`; ${ADVICE}`), failed[0]!.text);
    for (const [n, i] of warned.slice(1).entries()) {
      const more = i - warned[n]! - 1;
      assert(failed[i]!.text.endsWith(`(${more} more since the last)`), failed[i]!.text);
    }
    // The attempts and the delays between: at debug, but the first attempt at the start.
    const attempts = logs.lines.filter((line) => line.text.startsWith("Connecting to"));
    assertEquals(attempts.map((line) => line.level), [
      "info",
      ...Array(attempts.length - 1).fill("debug"),
    ]);
    const delays = logs.lines.filter((line) => line.text.startsWith("Reconnecting to"));
    assertEquals(new Set(delays.map((line) => line.level)), new Set(["debug"]));

    // A link that comes up, then drops and fails again: the outage's first failure warns.
    sockets.at(-1)!.open();
    await settle();
    assertEquals(connection.status().linkUp, true);
    sockets.at(-1)!.destroy();
    await settle();
    clock.advance(lastDelay());
    await settle();
    await refuse();
    const after = logs.lines.filter((line) => line.text.startsWith(FAILED)).at(-1)!;
    assertEquals(after.level, "warning");
    assert(after.text.endsWith(`; ${ADVICE}`), after.text);
  } finally {
    logs.stop();
    await connection.close();
  }
});
