import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { getLogger } from "../../../src/log.ts";
import {
  UNNOTIFIED_POLL_MS,
  WorkRunner,
  type WorkRunnerDeps,
} from "../../../src/cluster/work_runner.ts";
import {
  ManagementCommandError,
  ManagementConnectionError,
} from "../../../src/management/errors.ts";
import type { TakenWork } from "../../../src/cluster/work_queue.ts";
import type { WorkOp, WorkOutcome } from "../../../src/cluster/work_item.ts";
import type { TimedOutClient } from "../../../src/bridge/client_events.ts";
import { SignInEndedError } from "../../../src/bridge/sign_in_guard.ts";

// A 9 s lease renews every 3 s; a multiple of the 100 ms steps `idle` takes.
const NOTIFIED_POLL_MS = 3_000;

/** A queue that counts its reads (each a Redis eval) and hands out what the test queued. */
class CountingQueue {
  takes = 0;
  waiting: TakenWork[] = [];
  recorded: { key: string; outcome: WorkOutcome }[] = [];

  take(): Promise<TakenWork[]> {
    this.takes++;
    return Promise.resolve(this.waiting.splice(0));
  }

  record(_server: string, _token: number, key: string, outcome: WorkOutcome): Promise<boolean> {
    this.recorded.push({ key, outcome });
    return Promise.resolve(true);
  }
}

/** Like Redis's running list: `item` is taken again by every drain until its outcome is recorded. */
function runningUntilRecorded(queue: CountingQueue, item: TakenWork): void {
  queue.take = () => {
    queue.takes++;
    return Promise.resolve(queue.recorded.length === 0 ? [item] : []);
  };
}

/** Lets the runner's promise chain (take, then re-arming its timer) run to its end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A runner of server "default" under token 7, polling every NOTIFIED_POLL_MS while notified. */
function newRunner(
  deps: Omit<WorkRunnerDeps, "server" | "token" | "log" | "notifiedPollMs">,
): WorkRunner {
  return new WorkRunner({
    server: "default",
    token: 7,
    log: getLogger("test"),
    notifiedPollMs: NOTIFIED_POLL_MS,
    ...deps,
  });
}

function setUp(notified: () => boolean) {
  const clock = new FakeClock();
  const queue = new CountingQueue();
  const commander = new RecordingCommander();
  const deferred: string[] = [];
  const runner = newRunner({
    queue,
    commander,
    clock,
    notified,
    deferKill: (cid, run, message) =>
      deferred.push(run === undefined ? `${cid}: ${message}` : `${cid} in ${run}: ${message}`),
  });
  /** Moves the clock in small steps, letting each poll finish before the next. */
  const idle = async (ms: number) => {
    for (let at = 0; at < ms; at += 100) {
      clock.advance(100);
      await settle();
    }
  };
  return { clock, queue, commander, runner, idle, deferred };
}

Deno.test("while notifications arrive the idle holder polls once a renewal period, not every 500 ms", async () => {
  const up = setUp(() => true);
  up.runner.start();
  await settle();
  await up.idle(60_000);
  up.runner.stop();
  const down = setUp(() => false);
  down.runner.start();
  await settle();
  await down.idle(60_000);
  down.runner.stop();
  // The first read at start, then one per interval: 20 instead of 120 reads a minute.
  assertEquals(up.queue.takes, 1 + 60_000 / NOTIFIED_POLL_MS);
  assertEquals(down.queue.takes, 1 + 60_000 / UNNOTIFIED_POLL_MS);
});

Deno.test("with notifications down, queued work is still picked up by the fast poll", async () => {
  const { queue, commander, runner, idle } = setUp(() => false);
  runner.start();
  await settle();
  await idle(1_000);
  const before = queue.takes;
  // Queued while nobody could notify this instance: no wake() comes.
  queue.waiting.push({
    key: "kill:3",
    item: { op: "kill", cid: 3, message: "signed out" },
    recorded: undefined,
    msLeft: 10_000,
  });
  await idle(UNNOTIFIED_POLL_MS);
  runner.stop();
  assertEquals(queue.takes, before + 1);
  assertEquals(commander.commands, [{ kind: "kill", cid: 3, message: "signed out" }]);
  assertEquals(queue.recorded, [{ key: "kill:3", outcome: { kind: "ok" } }]);
});

Deno.test("the interval follows the subscriber: it drops to the fast poll once notifications stop", async () => {
  let up = true;
  const { queue, runner, idle } = setUp(() => up);
  runner.start();
  await settle();
  await idle(NOTIFIED_POLL_MS);
  assertEquals(queue.takes, 2);
  // The cluster wakes the runner when the subscriber closes; from then on it polls fast.
  up = false;
  runner.wake();
  await settle();
  assertEquals(queue.takes, 3);
  await idle(2_000);
  runner.stop();
  assertEquals(queue.takes, 3 + 2_000 / UNNOTIFIED_POLL_MS);
});

Deno.test("work waiting for the link (a takeover still connecting) is tried again at the fast interval", async () => {
  const { queue, commander, runner, idle } = setUp(() => true);
  // Not connected yet at the first attempt, as right after taking the lease.
  let connected = false;
  const kill = commander.kill.bind(commander);
  commander.kill = (cid, message) =>
    connected
      ? kill(cid, message)
      : Promise.reject(new ManagementConnectionError("not-connected", "no link yet"));
  runningUntilRecorded(queue, {
    key: "kill:5",
    item: { op: "kill", cid: 5, message: "signed out" },
    recorded: undefined,
    msLeft: 12_000,
  });
  runner.start();
  await settle();
  assertEquals(queue.recorded, []);
  connected = true;
  await idle(UNNOTIFIED_POLL_MS);
  runner.stop();
  assertEquals(commander.commands.length, 1, "carried out once the link was up");
  assertEquals(queue.recorded, [{ key: "kill:5", outcome: { kind: "ok" } }]);
});

Deno.test("work written to OpenVPN and not answered is recorded unconfirmed, not sent again (a second client-auth would be refused)", async () => {
  const { queue, commander, runner, idle } = setUp(() => true);
  let sent = 0;
  commander.auth = () => {
    sent++;
    return Promise.reject(new ManagementConnectionError("timeout", "no reply in time"));
  };
  runningUntilRecorded(queue, {
    key: "auth:5:1:run-1",
    item: { op: "auth", cid: 5, kid: 1, lines: [] },
    recorded: undefined,
    msLeft: 12_000,
  });
  runner.start();
  await settle();
  await idle(3 * UNNOTIFIED_POLL_MS);
  runner.stop();
  assertEquals(sent, 1);
  assertEquals(queue.recorded, [{ key: "auth:5:1:run-1", outcome: { kind: "unknown" } }]);
});

Deno.test("a kill that expired waiting for the link is left to be sent, with its message, when this holder's link is back (in its client's run, when named), and is still recorded expired", async () => {
  const { queue, commander, runner, deferred } = setUp(() => true);
  queue.waiting.push({
    key: "kill:9:n",
    item: { op: "kill", cid: 9, message: "RESTART,signed out" },
    recorded: undefined,
    msLeft: 0,
  }, {
    // A new holder after a takeover knows no run of its own: the item's is the one.
    key: "kill:10:n",
    item: { op: "kill", cid: 10, message: "RESTART", openvpnRun: "run-1" },
    recorded: undefined,
    msLeft: 0,
  });
  runner.start();
  await settle();
  runner.stop();
  assertEquals(commander.commands, [], "not sent now: its requester's deadline passed");
  assertEquals(deferred, ["9: RESTART,signed out", "10 in run-1: RESTART"]);
  assertEquals(queue.recorded, [
    { key: "kill:9:n", outcome: { kind: "expired" } },
    { key: "kill:10:n", outcome: { kind: "expired" } },
  ]);
});

Deno.test("an expired answer to a sign-in is never deferred (a late client-auth or client-deny must not be sent)", async () => {
  const { queue, commander, runner, deferred } = setUp(() => true);
  queue.waiting.push(
    {
      key: "5:1:run=r",
      item: { op: "auth", cid: 5, kid: 1, lines: [] },
      recorded: undefined,
      msLeft: 0,
    },
    {
      key: "6:1:run=r",
      item: { op: "deny", cid: 6, kid: 1, reason: "no", clientReason: "no" },
      recorded: undefined,
      msLeft: 0,
    },
  );
  runner.start();
  await settle();
  runner.stop();
  assertEquals(commander.commands, []);
  assertEquals(deferred, []);
  assertEquals(queue.recorded, [
    { key: "5:1:run=r", outcome: { kind: "expired" } },
    { key: "6:1:run=r", outcome: { kind: "expired" } },
  ]);
});

Deno.test("a kill carried out in time is not deferred as well", async () => {
  const { queue, commander, runner, deferred } = setUp(() => true);
  queue.waiting.push({
    key: "kill:4:n",
    item: { op: "kill", cid: 4, message: "signed out" },
    recorded: undefined,
    msLeft: 5_000,
  });
  runner.start();
  await settle();
  runner.stop();
  assertEquals(commander.commands, [{ kind: "kill", cid: 4, message: "signed out" }]);
  assertEquals(deferred, []);
  assertEquals(queue.recorded, [{ key: "kill:4:n", outcome: { kind: "ok" } }]);
});

/**
 * A runner whose holding period's events record the timeouts it is told were written, and
 * whose commander fails each deny as `denyFails` says (or records it).
 */
function timeoutSetUp(denyFails?: () => Error) {
  const clock = new FakeClock();
  const queue = new CountingQueue();
  const commander = new RecordingCommander();
  if (denyFails) commander.deny = () => Promise.reject(denyFails());
  const recordedTimeouts: TimedOutClient[] = [];
  const runner = newRunner({
    queue,
    commander,
    clock,
    notified: () => true,
    signInTimedOut: (client) => recordedTimeouts.push(client),
  });
  /** Carries `items` out in one drain. */
  const drain = async (...items: TakenWork[]) => {
    queue.waiting.push(...items);
    runner.start();
    await settle();
    runner.stop();
  };
  return { queue, commander, recordedTimeouts, drain };
}

/** A sign-in's timeout deny held by an earlier holding period, its record owed. */
const OWED_TIMEOUT: TakenWork = {
  key: "4:1:run=run-1",
  item: {
    op: "deny",
    cid: 4,
    kid: 1,
    reason: "sign-in timed out",
    clientReason: "Sign-in was not completed in time. Reconnect to try again.",
    signIn: { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "run-1" },
    timedOut: { commonName: "alice", clientIp: "198.51.100.7" },
  },
  recorded: undefined,
  msLeft: 5_000,
};

Deno.test("a held timeout deny carried out here is recorded as a timeout once, naming its client; any other deny is not (its requester recorded it)", async () => {
  const { commander, recordedTimeouts, drain } = timeoutSetUp();
  const { timedOut: _owed, ...byRequester } = OWED_TIMEOUT.item as WorkOp & { op: "deny" };
  await drain(OWED_TIMEOUT, {
    // A callback's deny (Admission.deny recorded it), or a held deny queued by an earlier version.
    ...OWED_TIMEOUT,
    key: "5:1:run=run-1",
    item: { ...byRequester, cid: 5 },
  });
  assertEquals(commander.commands.map(({ cid }) => cid), [4, 5]);
  assertEquals(recordedTimeouts, [{ cid: 4, commonName: "alice", clientIp: "198.51.100.7" }]);
});

Deno.test("a held timeout deny written with no answer is recorded (OpenVPN may have carried it out); one not written, refused or expired is not; one already done is not again", async () => {
  const unanswered = timeoutSetUp(() => new ManagementConnectionError("timeout", "no reply"));
  await unanswered.drain(OWED_TIMEOUT);
  assertEquals(unanswered.recordedTimeouts.map(({ cid }) => cid), [4]);
  assertEquals(unanswered.queue.recorded.map(({ outcome }) => outcome.kind), ["unknown"]);
  for (
    const error of [
      // The link down: left for the next drain or holder, which records it if it writes it.
      new ManagementConnectionError("not-connected", "no link"),
      // The guard: OpenVPN restarted, or a newer sign-in began on the cid.
      new SignInEndedError("client-deny", 4),
      // OpenVPN: the client has gone.
      new ManagementCommandError("client-deny", "ERROR: client-deny command failed"),
    ]
  ) {
    const { recordedTimeouts, drain } = timeoutSetUp(() => error);
    await drain(OWED_TIMEOUT);
    assertEquals(recordedTimeouts, [], error.message);
  }
  // An earlier holder carried it out and recorded it, then died before clearing it.
  const done = timeoutSetUp();
  await done.drain({ ...OWED_TIMEOUT, recorded: { kind: "ok" } });
  assertEquals([done.commander.commands, done.recordedTimeouts], [[], []]);
  // Its deadline passed before a holder took it: not sent, so not recorded.
  const expired = timeoutSetUp();
  await expired.drain({ ...OWED_TIMEOUT, msLeft: 0 });
  assertEquals([expired.commander.commands, expired.recordedTimeouts], [[], []]);
});

Deno.test("an item still being carried out is not started again by a drain meanwhile (OpenVPN would get a second client-auth)", async () => {
  const { queue, commander, runner } = setUp(() => true);
  let sent = 0;
  let answer = () => {};
  // OpenVPN answers slowly: the item stays in Redis's running list, taken again by every drain.
  commander.auth = () => {
    sent++;
    return new Promise<void>((resolve) => (answer = resolve));
  };
  runningUntilRecorded(queue, {
    key: "5:1:run=r",
    item: { op: "auth", cid: 5, kid: 1, lines: [] },
    recorded: undefined,
    msLeft: 12_000,
  });
  runner.start();
  await settle();
  // A notification for other work comes while the answer is awaited.
  runner.wake();
  await settle();
  answer();
  await settle();
  runner.stop();
  assertEquals(sent, 1, "sent once, though taken by two drains");
  assertEquals(queue.recorded, [{ key: "5:1:run=r", outcome: { kind: "ok" } }]);
});

Deno.test("a stopped runner (its holding period over) takes no more work when woken", async () => {
  const { queue, commander, runner } = setUp(() => true);
  runner.start();
  await settle();
  runner.stop();
  const takes = queue.takes;
  queue.waiting.push({
    key: "kill:5:n",
    item: { op: "kill", cid: 5, message: "revoked" },
    recorded: undefined,
    msLeft: 12_000,
  });
  // A notification that arrives after the lease was lost.
  runner.wake();
  await settle();
  assertEquals(queue.takes, takes, "no read of the queue after stop()");
  assertEquals(commander.commands, []);
  assertEquals(queue.recorded, []);
});

Deno.test("work OpenVPN can never take (bad arguments, not a management error) is recorded refused at once, not retried until it expires", async () => {
  const { queue, commander, runner, idle } = setUp(() => true);
  let tries = 0;
  commander.auth = () => {
    tries++;
    return Promise.reject(new RangeError("client-auth line too long"));
  };
  runningUntilRecorded(queue, {
    key: "5:1:run=r",
    item: { op: "auth", cid: 5, kid: 1, lines: ["x"] },
    recorded: undefined,
    msLeft: 12_000,
  });
  runner.start();
  await settle();
  await idle(3 * UNNOTIFIED_POLL_MS);
  runner.stop();
  assertEquals(tries, 1);
  assertEquals(queue.recorded, [{
    key: "5:1:run=r",
    outcome: { kind: "refused", message: "RangeError: client-auth line too long" },
  }]);
});
