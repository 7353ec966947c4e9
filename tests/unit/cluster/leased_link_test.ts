/**
 * LeasedLink's holding period, with a fake Redis and clock: the link is built and started when
 * the lease is acquired, and work that waits for the link still connecting is carried out the
 * moment it is up, not at the runner's next poll (a sign-in waiting through a takeover has
 * only seconds left).
 */
import type { Redis } from "ioredis";
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { getLogger } from "../../../src/log.ts";
import { leaseTiming } from "../../../src/cluster/lease.ts";
import { type HeldLink, LeasedLink } from "../../../src/cluster/leased_link.ts";
import { ACQUIRE, RELEASE } from "../../../src/cluster/redis_scripts.ts";
import type { ClusterKeys, TakenWork, WorkQueue } from "../../../src/cluster/work_queue.ts";
import type { ServerLink } from "../../../src/bridge/server_link.ts";
import type { ClientEvents } from "../../../src/bridge/client_events.ts";
import type { ClientCommander } from "../../../src/bridge/commander.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";
import { killMessage } from "../../../src/bridge/session_end.ts";
import { signInGuard } from "../../../src/bridge/sign_in_guard.ts";
import type { WorkOp, WorkOutcome } from "../../../src/cluster/work_item.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Metrics, ServerMetrics } from "../../../src/metrics/port.ts";
import type { SignIn } from "../../../src/bridge/sign_ins.ts";
import { testClientEvents, testPendingLogin } from "../../support/client_events_fixture.ts";
import { captureLogs } from "../../support/log_capture.ts";

/**
 * The kill of a session max_per_user ended, with the text its user is shown: a held or deferred
 * kill keeps it (a bare RESTART told the user nothing).
 */
const DISPLACED = killMessage("max-per-user");

/** Grants the lease with fence token 5 and accepts every renewal and release. */
const grantingRedis = {
  eval: (script: string) => Promise.resolve(script === ACQUIRE ? 5 : 1),
} as unknown as Redis;

const keys = {
  lease: (server: string) => `l:${server}`,
  fence: (server: string) => `f:${server}`,
} as unknown as ClusterKeys;

/** Counts the runner's reads of the queue; nothing is ever waiting. */
class CountingQueue {
  takes = 0;
  take(): Promise<TakenWork[]> {
    this.takes++;
    return Promise.resolve([]);
  }
}

/** A server link that comes up when the test says so. */
class FakeServerLink {
  started = 0;
  stopped = 0;
  linkUp = false;
  /** ServerLink.tunnels: what the link knows of the clients whose tunnel is up. */
  tunnels: number | undefined = undefined;
  readonly #onUp: Array<() => void> = [];
  /** What stopping the link also stops (the real one closes its events). */
  readonly #onStop: () => void;
  constructor(onStop = () => {}) {
    this.#onStop = onStop;
  }
  onLinkUp(listener: () => void): void {
    this.#onUp.push(listener);
  }
  start(): void {
    this.started++;
  }
  stop(): Promise<void> {
    this.stopped++;
    this.linkUp = false;
    this.#onStop();
    return Promise.resolve();
  }
  comeUp(): void {
    this.linkUp = true;
    for (const listener of this.#onUp) listener();
  }
}

/** A holding period's events with no sign-in to adopt and no kill or deny held. */
const IDLE_EVENTS = {
  adoptPendingLogins: () => Promise.resolve(0),
  takeHeldKills: () => [],
  takeHeldDenies: () => [],
} as unknown as ClientEvents;

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

Deno.test("a held link is started at acquisition, and its runner drains the moment the link is up", async () => {
  const clock = new FakeClock();
  const queue = new CountingQueue();
  const serverLink = new FakeServerLink();
  let mayWrite: (() => boolean) | undefined;
  const leased = new LeasedLink({
    server: "default",
    instanceId: "bridge-a",
    redis: grantingRedis,
    keys,
    queue: queue as unknown as WorkQueue,
    timing: leaseTiming(9_000),
    clock,
    log: getLogger("test"),
    // Notifications arrive: an idle runner polls only once a renewal period.
    notified: () => true,
    build: (fence): HeldLink => {
      mayWrite = fence;
      return {
        link: serverLink as unknown as ServerLink,
        events: IDLE_EVENTS,
        commander: new RecordingCommander(),
      };
    },
  });
  try {
    leased.start();
    await settle();
    assertEquals(leased.holding, true);
    assertEquals(serverLink.started, 1, "the link is started when the lease is acquired");
    assertEquals(mayWrite?.(), true, "writes are fenced by the lease just acquired");
    assertEquals(queue.takes, 1, "the runner drained once at start");
    assertEquals(leased.linkUp, false);

    // The link comes up with no time passing: the runner reads the queue again at once.
    serverLink.comeUp();
    await settle();
    assertEquals(leased.linkUp, true);
    assertEquals(queue.takes, 2, "drained when the link came up, not at its next poll");
  } finally {
    await leased.stop();
  }
  assertEquals(leased.holding, false, "released at stop");
});

Deno.test("[cluster]: the tunnels of a server are its held link's count; an instance not holding it does not know", async () => {
  const serverLink = new FakeServerLink();
  serverLink.tunnels = 4;
  const leased = new LeasedLink({
    server: "default",
    instanceId: "bridge-a",
    redis: grantingRedis,
    keys,
    queue: new CountingQueue() as unknown as WorkQueue,
    timing: leaseTiming(9_000),
    clock: new FakeClock(),
    log: getLogger("test"),
    notified: () => true,
    build: (): HeldLink => ({
      link: serverLink as unknown as ServerLink,
      events: IDLE_EVENTS,
      commander: new RecordingCommander(),
    }),
  });
  try {
    assertEquals(leased.tunnels, undefined, "before the lease is acquired");
    leased.start();
    await settle();
    assertEquals(leased.holding, true);
    assertEquals(leased.tunnels, 4);
  } finally {
    await leased.stop();
  }
  assertEquals(leased.tunnels, undefined, "once the lease is given up");
});

Deno.test("a link's write fence belongs to its holding period: once the lease is lost and taken anew, the old link may not write", async () => {
  const { clock, leased, fences, redis } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    assertEquals(fences.map((fence) => fence()), [true]);
    // Renewals refused (another holder, a Redis failover): lost, then granted again (token 6).
    redis.renewing = false;
    for (let step = 0; step < 200 && fences.length < 2; step++) {
      clock.advance(250);
      await settle();
    }
    assertEquals(fences.length, 2, "the lease was taken anew");
    assertEquals(fences.map((fence) => fence()), [false, true]);
  } finally {
    await leased.stop();
  }
});

/**
 * A LeasedLink over a Redis that grants every ACQUIRE a new token (5, 6, ...) and every renewal
 * while `redis.renewing`, and answers nothing but errors while not `redis.reachable`; each
 * holding period's link is a FakeServerLink the test brings up or
 * not, and its write fence is kept in `fences`.
 */
function leasedLinkSetUp<Q = CountingQueue>(options: {
  /** The work queue (default: one never holding work). */
  queue?: (clock: FakeClock) => Q;
  /** A holding period's events and commander over its link (default: idle). */
  period?: (link: FakeServerLink, clock: FakeClock) => {
    events: ClientEvents;
    commander: ClientCommander;
    onStop: () => void;
  };
} = {}) {
  const clock = new FakeClock();
  const queue = options.queue?.(clock) ?? new CountingQueue();
  const calls: string[] = [];
  let tokens = 4;
  const redis = {
    renewing: true,
    reachable: true,
    eval: (script: string) => {
      if (!redis.reachable) return Promise.reject(new Error("connection lost"));
      calls.push(script === ACQUIRE ? "acquire" : script === RELEASE ? "release" : "renew");
      if (script === ACQUIRE) return Promise.resolve(++tokens);
      return Promise.resolve(script === RELEASE || redis.renewing ? 1 : 0);
    },
  };
  const links: FakeServerLink[] = [];
  const fences: Array<() => boolean> = [];
  const leased = new LeasedLink({
    server: "default",
    instanceId: "bridge-a",
    redis: redis as unknown as Redis,
    keys,
    queue: queue as unknown as WorkQueue,
    timing: leaseTiming(9_000),
    clock,
    log: getLogger("test"),
    notified: () => true,
    build: (fence): HeldLink => {
      fences.push(fence);
      let stopped = () => {};
      const link = new FakeServerLink(() => stopped());
      links.push(link);
      if (options.period === undefined) {
        return {
          link: link as unknown as ServerLink,
          events: IDLE_EVENTS,
          commander: new RecordingCommander(),
        };
      }
      const { events, commander, onStop } = options.period(link, clock);
      stopped = onStop;
      return { link: link as unknown as ServerLink, events, commander };
    },
  });
  /**
   * Moves the clock to `ms` after the start (on the monotonic clock: the wall clock may be
   * stepped), in steps that let every timer's work finish.
   */
  const at = async (ms: number) => {
    while (clock.monotonic() < ms) {
      clock.advance(250);
      await settle();
    }
  };
  const count = (call: string) => calls.filter((c) => c === call).length;
  return { clock, leased, links, fences, redis, at, count, queue: queue as Q };
}

Deno.test("a lost lease closes its holding period's management link (OpenVPN takes one management client: the next holder's must get in)", async () => {
  const { clock, leased, links, redis } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    links[0]!.comeUp();
    // Renewals refused (another instance holds the key now): lost by the lease's deadline.
    redis.renewing = false;
    for (let step = 0; step < 200 && leased.holding; step++) {
      clock.advance(250);
      await settle();
    }
    assertEquals(leased.holding, false, "the lease was lost");
    assertEquals([links[0]!.stopped, links[0]!.linkUp], [1, false], "its link was closed");
  } finally {
    await leased.stop();
  }
});

Deno.test("a stopped holder's runner takes no more work: its holding period is over", async () => {
  const { leased, at, queue } = leasedLinkSetUp();
  leased.start();
  await settle();
  assertEquals(queue.takes, 1, "drained once at start");
  await leased.stop();
  // Well past several of the idle runner's polls (once a renewal period).
  await at(30_000);
  assertEquals(queue.takes, 1);
});

Deno.test("a holding period that ends while it adopts the sign-ins in progress never starts its link or runner", async () => {
  let adopted: (count: number) => void = () => {};
  const { leased, links, at, queue } = leasedLinkSetUp({
    period: () => ({
      events: {
        adoptPendingLogins: () => new Promise<number>((resolve) => adopted = resolve),
        takeHeldKills: () => [],
        takeHeldDenies: () => [],
      } as unknown as ClientEvents,
      commander: new RecordingCommander(),
      onStop: () => {},
    }),
  });
  leased.start();
  await settle();
  assertEquals(links.length, 1);
  await leased.stop();
  // Reading the pending logins from Redis answers only now.
  adopted(0);
  await at(30_000);
  assertEquals(links[0]!.started, 0, "no connection to OpenVPN without the lease");
  assertEquals(queue.takes, 0, "no work taken without the lease");
});

Deno.test("a holder whose link stays down for 3 leases gives the lease up, and asks again only after a pause that lets a standby take it first", async () => {
  const { leased, links, at, count } = leasedLinkSetUp();
  const timing = leaseTiming(9_000);
  assertEquals([timing.yieldAfterMs, timing.yieldPauseMs], [27_000, 3_000]);
  try {
    leased.start();
    await settle();
    assertEquals([leased.holding, links.length], [true, 1]);
    // OpenVPN cannot be reached from here (a network cut, a wrong password on this host).
    await at(26_500);
    assertEquals([leased.holding, count("release")], [true, 0], "kept while it may still connect");
    await at(27_500);
    assertEquals([leased.holding, count("release")], [false, 1], "given up and its key deleted");
    // No ACQUIRE during the pause: a standby asking every second gets the lease first.
    await at(29_750);
    assertEquals([leased.holding, count("acquire")], [false, 1]);
    // Nobody took it: asked again after the pause, with a fresh link.
    await at(32_000);
    assertEquals([leased.holding, count("acquire"), links.length], [true, 2, 2]);
  } finally {
    await leased.stop();
  }
});

Deno.test("a holder keeps the lease while its link comes up in time, and counts a later outage from when the link was last up", async () => {
  const { leased, links, at, count } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    // Connecting takes a while (OpenVPN restarting), then works for a long time.
    await at(20_000);
    links[0]!.comeUp();
    await at(90_000);
    assertEquals([leased.holding, count("release")], [true, 0]);
    // The link drops (OpenVPN restarts) and stays down: given up 27 s later, not at once.
    links[0]!.linkUp = false;
    await at(116_000);
    assertEquals(leased.holding, true);
    await at(118_000);
    assertEquals([leased.holding, count("release")], [false, 1]);
  } finally {
    await leased.stop();
  }
});

/**
 * A held link whose runner finds the kills a test queues already expired; the link's events
 * record what is deferred to them ("cid in run"), its commander what is sent.
 */
function expiredKillSetUp() {
  const serverLink = new FakeServerLink();
  const deferred: string[] = [];
  const waiting: TakenWork[] = [];
  const commander = new RecordingCommander();
  const queue = {
    take: () => Promise.resolve(waiting.splice(0)),
    record: () => Promise.resolve(true),
  };
  const leased = new LeasedLink({
    server: "default",
    instanceId: "bridge-a",
    redis: grantingRedis,
    keys,
    queue: queue as unknown as WorkQueue,
    timing: leaseTiming(9_000),
    clock: new FakeClock(),
    log: getLogger("test"),
    notified: () => true,
    build: (): HeldLink => ({
      link: serverLink as unknown as ServerLink,
      events: {
        adoptPendingLogins: () => Promise.resolve(0),
        takeHeldKills: () => [],
        takeHeldDenies: () => [],
        killWhenLinked: (cid: number, message: string, run?: string) =>
          deferred.push(`${cid} in ${run}: ${message}`),
      } as unknown as ClientEvents,
      commander,
    }),
  });
  /** Queues a kill whose requester's deadline has passed, and wakes the runner. */
  const expiredKill = async (cid: number, openvpnRun?: string) => {
    waiting.push({
      key: `kill:${cid}:n`,
      item: { op: "kill", cid, message: DISPLACED, ...(openvpnRun ? { openvpnRun } : {}) },
      recorded: undefined,
      msLeft: 0,
    });
    leased.wake();
    await settle();
  };
  return { serverLink, deferred, commander, leased, expiredKill };
}

Deno.test("a kill that expired while the held link was down is handed to that link's events, to be sent when it is back; not while it is up", async () => {
  const { serverLink, deferred, commander, leased, expiredKill } = expiredKillSetUp();
  try {
    leased.start();
    await settle();
    serverLink.comeUp();
    await settle();
    // Up: it may have told a new OpenVPN run already, in which the cid is not the client's.
    await expiredKill(3);
    assertEquals(deferred, []);
    assertEquals(commander.commands, []);
    // Down (as while its requester waited): kept for the run the link was last up in.
    serverLink.linkUp = false;
    await expiredKill(4);
    assertEquals(deferred, [`4 in undefined: ${DISPLACED}`]);
  } finally {
    await leased.stop();
  }
});

Deno.test("a kill that names its client's run is kept for that run by a holder whose link was never up, and sent at once through the link's guard while it is up", async () => {
  const { serverLink, deferred, commander, leased, expiredKill } = expiredKillSetUp();
  try {
    // Just taken over: the link is still connecting, and has told no run.
    leased.start();
    await settle();
    await expiredKill(4, "run-1");
    assertEquals(deferred, [`4 in run-1: ${DISPLACED}`]);
    assertEquals(commander.commands, []);
    // Up: the guard (sign_in_guard.ts) sends it only if the link is in that run.
    serverLink.comeUp();
    await settle();
    await expiredKill(5, "run-1");
    assertEquals(commander.commands, [
      { kind: "kill", cid: 5, message: DISPLACED, openvpnRun: "run-1" },
    ]);
    assertEquals(deferred, [`4 in run-1: ${DISPLACED}`]);
  } finally {
    await leased.stop();
  }
});

Deno.test("a wall clock stepped back does not extend the lease: a holder cut off from Redis stops writing when the lease runs out", async () => {
  const { clock, leased, fences, redis, at } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    assertEquals(fences.map((fence) => fence()), [true]);
    // chrony steps this host's clock back while Redis is out of reach: Redis still expires the
    // lease 9 s after the last renewal got through, and another instance may take it then.
    clock.stepWall(-30_000);
    redis.reachable = false;
    await at(10_000);
    assertEquals(fences.map((fence) => fence()), [false], "no write past the lease");
    assertEquals(leased.holding, false, "reported lost");
  } finally {
    await leased.stop();
  }
});

Deno.test("a host suspended past the lease (the wall clock moved, the monotonic clock stood still) writes nothing once it wakes", async () => {
  const { clock, leased, links, fences, redis, at, count } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    links[0]!.comeUp();
    // Asleep for two leases: Redis expired the lease meanwhile, another instance may hold it.
    clock.stepWall(2 * 9_000);
    assertEquals(fences.map((fence) => fence()), [false], "no write after waking");
    // A lease given up early costs a takeover, not two writers: it is simply taken again.
    redis.reachable = true;
    await at(6_000);
    assertEquals([leased.holding, count("acquire")], [true, 2]);
    assertEquals(fences.map((fence) => fence()), [false, true]);
  } finally {
    await leased.stop();
  }
});

Deno.test("a host woken past its lease does not report holding it, before its deadline timer has fired", async () => {
  const { clock, leased, links, redis } = leasedLinkSetUp();
  try {
    leased.start();
    await settle();
    links[0]!.comeUp();
    assertEquals(leased.holding, true);
    // Suspended for two leases; Redis is not reached, and no timer has run yet on waking: what
    // runs first (an overdue re-check) asks whether the lease is held.
    redis.reachable = false;
    clock.stepWall(2 * 9_000);
    assertEquals(leased.holding, false);
  } finally {
    await leased.stop();
  }
});

/** Work items in memory, each due `waitMs` after it was queued (by the test's monotonic clock). */
class MemoryWorkQueue {
  /** Enqueue fails as with Redis out of reach. */
  unreachable = false;
  /** The outcome recorded for each item, by key. */
  readonly outcomes = new Map<string, WorkOutcome["kind"]>();
  readonly items = new Map<string, { item: WorkOp; dueAt: number }>();
  readonly #clock: FakeClock;
  #queued = 0;
  constructor(clock: FakeClock) {
    this.#clock = clock;
  }
  enqueue(_server: string, item: WorkOp, waitMs: number): Promise<void> {
    if (this.unreachable) return Promise.reject(new Error("connection lost"));
    this.items.set(`${item.op}:${++this.#queued}`, {
      item,
      dueAt: this.#clock.monotonic() + waitMs,
    });
    return Promise.resolve();
  }
  take(): Promise<TakenWork[]> {
    const now = this.#clock.monotonic();
    return Promise.resolve(
      [...this.items].map(([key, { item, dueAt }]) => ({
        key,
        item,
        recorded: undefined,
        msLeft: dueAt - now,
      })),
    );
  }
  record(_server: string, _token: number, key: string, outcome: WorkOutcome): Promise<boolean> {
    this.items.delete(key);
    this.outcomes.set(key, outcome.kind);
    return Promise.resolve(true);
  }
}

/**
 * Holding periods as the daemon builds them, over one work queue: a real ClientEvents, and the
 * guard (sign_in_guard.ts) before a management commander that fails while its link is down;
 * `sent` records what reached OpenVPN in any period. `upIn(period, run)` brings a period's link
 * up in an OpenVPN run.
 */
function heldKillSetUp(options: {
  /**
   * Denies of sign-ins that timed out while the first period's link was down, which its events
   * hand on (takeHeldDenies) when the period ends.
   */
  firstHeldDenies?: Array<{ signIn: TimedOutSignIn; run: string }>;
  /** One store for every period (default: one each). */
  store?: (clock: FakeClock) => MemoryStore;
  /** What every period's events count (default: nothing). */
  metrics?: Metrics;
} = {}) {
  let shared: MemoryStore | undefined;
  const sent = new RecordingCommander();
  const periods: ClientEvents[] = [];
  const { clock, leased, links, at, queue } = leasedLinkSetUp({
    queue: (clock) => new MemoryWorkQueue(clock),
    period: (link, clock) => {
      const management = managementOver(link, sent);
      const { events } = testClientEvents({
        store: options.store
          ? (shared ??= options.store(clock))
          : new MemoryStore({ maxEntries: 10, now: clock.now }),
        clock,
        eventsCommander: management,
        ...(options.metrics ? { metrics: options.metrics } : {}),
      });
      const held = options.firstHeldDenies;
      if (periods.length === 0 && held) Object.assign(events, { takeHeldDenies: () => held });
      periods.push(events);
      const commander = signInGuard(
        management,
        (cid, signIn) => events.isCurrentSignIn(cid, signIn),
        () => events.openvpnRun,
      );
      return { events, commander, onStop: () => events.close() };
    },
  });
  const upIn = async (period: number, run: string) => {
    links[period]!.comeUp();
    await periods[period]!.openvpnRunIs(run);
    await settle();
  };
  /** A revocation's kill of `cid` in `run` that expired waiting: the runner defers it. */
  const expiredKill = async (cid: number, run: string) => {
    await queue.enqueue("default", { op: "kill", cid, message: DISPLACED, openvpnRun: run }, 0);
    leased.wake();
    await settle();
  };
  return { clock, leased, links, at, sent, periods, queue, upIn, expiredKill };
}

/** A commander that fails as the management connection does while `link` is down. */
function managementOver(link: FakeServerLink, inner: ClientCommander): ClientCommander {
  return new Proxy(inner, {
    get: (target, name) => (...args: unknown[]) =>
      link.linkUp
        ? (target[name as keyof ClientCommander] as (...a: unknown[]) => Promise<void>).apply(
          target,
          args,
        )
        : Promise.reject(new ManagementConnectionError("not-connected", "Not connected")),
  });
}

/**
 * The first holding period: its link up in run-1, then down (OpenVPN out of reach from this
 * host), when a revocation's kill of cid 4 expires waiting: held for the link's return.
 */
async function killHeldByALinkThatStaysDown(t: ReturnType<typeof heldKillSetUp>) {
  t.leased.start();
  await settle();
  await t.upIn(0, "run-1");
  t.links[0]!.linkUp = false;
  await t.expiredKill(4, "run-1");
  assertEquals(t.sent.commands, [], "held, not sent, while the link is down");
}

Deno.test("a kill held for a link that stays down is sent by the next holder once its link is up in the kill's run", async () => {
  const t = heldKillSetUp();
  try {
    await killHeldByALinkThatStaysDown(t);
    // Down for 3 leases: the lease is given up (27 s) and, nobody else asking, taken again
    // after the pause: a new holding period, with a new link and new events.
    await t.at(31_000);
    assertEquals([t.leased.holding, t.links.length], [true, 2]);
    await t.upIn(1, "run-1");
    await t.at(32_000);
    assertEquals(t.sent.commands, [{ kind: "kill", cid: 4, message: DISPLACED }]);
  } finally {
    await t.leased.stop();
  }
});

Deno.test("a kill held for a link that stays down is not sent by the next holder whose link is up in another run: its client went with that run", async () => {
  const t = heldKillSetUp();
  try {
    await killHeldByALinkThatStaysDown(t);
    await t.at(31_000);
    assertEquals(t.links.length, 2);
    // OpenVPN restarted meanwhile: cid 4 may name a stranger now.
    await t.upIn(1, "run-2");
    await t.at(60_000);
    assertEquals(t.sent.commands, []);
    assertEquals([...t.queue.outcomes.values()], ["expired", "refused"]);
  } finally {
    await t.leased.stop();
  }
});

Deno.test("a kill held for a link that stays down, that cannot be queued again (Redis out of reach), is logged as an error naming its cid", async () => {
  const t = heldKillSetUp();
  const logs = captureLogs();
  try {
    await killHeldByALinkThatStaysDown(t);
    t.queue.unreachable = true;
    await t.at(28_000);
    assertEquals(t.leased.holding, false);
    const errors = logs.lines.filter((line) => line.level === "error");
    assertEquals(errors.map((line) => line.properties.cids), ["4"]);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});

Deno.test("a stopping holder queues the kills it held for its link again, with their run", async () => {
  const t = heldKillSetUp();
  await killHeldByALinkThatStaysDown(t);
  await t.leased.stop();
  assertEquals([...t.queue.items.values()].map(({ item }) => item), [
    { op: "kill", cid: 4, message: DISPLACED, openvpnRun: "run-1" },
  ]);
});

/** What a held deny's sign-in names (ClientEvents.takeHeldDenies). */
type TimedOutSignIn = Pick<SignIn, "id" | "cid" | "kid" | "commonName" | "clientIp">;

/** Alice's sign-in on cid 4, begun in run-1, that timed out while the first link was down. */
const TIMED_OUT = {
  signIn: {
    id: "AAAAAAAAAAAAAAAAAAAAAA",
    cid: 4,
    kid: 1,
    commonName: "alice",
    clientIp: "198.51.100.7",
  },
  run: "run-1",
};

/** The first holding period: its link never up in its lease (OpenVPN out of reach from here). */
async function denyHeldByALinkThatStaysDown(options: { metrics?: Metrics } = {}) {
  const t = heldKillSetUp({ firstHeldDenies: [TIMED_OUT], ...options });
  t.leased.start();
  await settle();
  return t;
}

Deno.test("a deny held for a link that stays down is sent by the next holder once its link is up in the sign-in's run, with the reason", async () => {
  const t = await denyHeldByALinkThatStaysDown();
  try {
    // Down for 3 leases: given up (27 s) and taken again after the pause, by a new period.
    await t.at(31_000);
    assertEquals([t.leased.holding, t.links.length], [true, 2]);
    await t.upIn(1, "run-1");
    await t.at(32_000);
    assertEquals(t.sent.commands, [{
      kind: "halt",
      cid: 4,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    }]);
  } finally {
    await t.leased.stop();
  }
});

Deno.test("a deny held for a link that stays down is not sent by the next holder whose link is up in another run: a restarted OpenVPN's new client on that cid is not denied", async () => {
  const t = await denyHeldByALinkThatStaysDown();
  try {
    await t.at(31_000);
    await t.upIn(1, "run-2");
    await t.at(32_000);
    assertEquals(t.sent.commands, []);
    assertEquals([...t.queue.outcomes.values()], ["refused"]);
  } finally {
    await t.leased.stop();
  }
});

Deno.test("a stopping holder queues the denies it held for its link again, with their sign-in and run", async () => {
  const t = await denyHeldByALinkThatStaysDown();
  await t.leased.stop();
  assertEquals([...t.queue.items.values()].map(({ item }) => item), [{
    op: "deny",
    cid: 4,
    kid: 1,
    reason: SIGN_IN_TIMED_OUT.logReason,
    clientReason: SIGN_IN_TIMED_OUT.reason,
    signIn: { loginId: TIMED_OUT.signIn.id, openvpnRun: "run-1" },
    // Recorded by the holder that writes it: this one never did.
    timedOut: { commonName: "alice", clientIp: "198.51.100.7" },
    // Sent as HALT (refusal.ts); a holder of an earlier version sends the client-deny.
    halt: true,
  }]);
});

/** Counts sign-in outcomes and denials as `login <result>` and `denial <code>`. */
function countingMetrics(counted: string[]): Metrics {
  const server: ServerMetrics = {
    login: (result) => counted.push(`login ${result}`),
    clientEvent: () => {},
    managementReconnect: () => {},
    denial: (code) => counted.push(`denial ${code}`),
  };
  return {
    server: () => server,
    denial: (code) => counted.push(`denial ${code}`),
    idpRequest: () => {},
    managementCommand: () => {},
  };
}

/** The audit lines logged, by what they name. */
function auditLines(logs: ReturnType<typeof captureLogs>) {
  return logs.lines.filter((line) => line.category === "audit").map(({ properties: p }) => ({
    event: p.event,
    server: p.server,
    cid: p.cid,
    commonName: p.commonName,
    clientIp: p.clientIp,
    username: p.username,
    reason: p.reason,
  }));
}

/** The audit line of alice's sign-in on cid 4 that timed out, as a single bridge writes it. */
const TIMED_OUT_AUDIT = {
  event: "denied",
  server: "default",
  cid: 4,
  commonName: "alice",
  clientIp: "198.51.100.7",
  username: "",
  reason: SIGN_IN_TIMED_OUT.code,
};

Deno.test("a deny held for a link that stays down is counted and audited once, as a timeout, by the next holder that writes it", async () => {
  const counted: string[] = [];
  const logs = captureLogs();
  const t = await denyHeldByALinkThatStaysDown({ metrics: countingMetrics(counted) });
  try {
    await t.at(31_000);
    assertEquals([t.leased.holding, t.links.length], [true, 2]);
    assertEquals([counted, auditLines(logs)], [[], []], "not written yet: nothing recorded");
    await t.upIn(1, "run-1");
    await t.at(40_000);
    assertEquals(t.sent.commands.map(({ kind, cid }) => `${kind} ${cid}`), ["halt 4"]);
    assertEquals(counted, ["login timeout", "denial timeout"]);
    assertEquals(auditLines(logs), [TIMED_OUT_AUDIT]);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});

Deno.test("a deny held for a link that stays down, that the next holder's guard refuses (OpenVPN restarted), is neither counted nor audited", async () => {
  const counted: string[] = [];
  const logs = captureLogs();
  const t = await denyHeldByALinkThatStaysDown({ metrics: countingMetrics(counted) });
  try {
    await t.at(31_000);
    await t.upIn(1, "run-2");
    await t.at(40_000);
    assertEquals([...t.queue.outcomes.values()], ["refused"]);
    assertEquals(t.sent.commands, []);
    assertEquals(counted, []);
    assertEquals(auditLines(logs), []);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});

Deno.test("a deny held for a link that stays down, that OpenVPN refuses from the next holder (the client has gone), is neither counted nor audited", async () => {
  const counted: string[] = [];
  const logs = captureLogs();
  const t = await denyHeldByALinkThatStaysDown({ metrics: countingMetrics(counted) });
  try {
    await t.at(31_000);
    t.sent.failWith = "ERROR: client-kill command failed";
    await t.upIn(1, "run-1");
    await t.at(40_000);
    assertEquals([...t.queue.outcomes.values()], ["refused"]);
    assertEquals(counted, []);
    assertEquals(auditLines(logs), []);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});

Deno.test("a deny held for a link that stays down, that cannot be queued again (Redis out of reach), is a warning naming its cid", async () => {
  const t = await denyHeldByALinkThatStaysDown();
  const logs = captureLogs();
  try {
    t.queue.unreachable = true;
    await t.at(28_000);
    assertEquals(t.leased.holding, false);
    const warnings = logs.lines.filter((line) =>
      line.level === "warning" && line.properties.cids !== undefined
    );
    assertEquals(warnings.map((line) => line.properties.cids), ["4"]);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});

Deno.test("FULL: a sign-in that times out while the holder's link is down is denied with the reason by the next holder, in its run, and counted and audited once", async () => {
  let store: MemoryStore | undefined;
  const counted: string[] = [];
  const logs = captureLogs();
  const t = heldKillSetUp({
    metrics: countingMetrics(counted),
    store: (clock) => {
      store = new MemoryStore({ maxEntries: 10, now: clock.now });
      void store.putPending(testPendingLogin({
        createdAt: clock.now() - 60_000,
        expiresAt: clock.now() + 5_000,
        openvpnRun: "run-1",
      }));
      return store;
    },
  });
  try {
    t.leased.start();
    await settle();
    await t.upIn(0, "run-1");
    t.links[0]!.linkUp = false;
    await t.at(6_000);
    assertEquals(t.sent.commands, [], "held while the link is down");
    await t.at(31_000);
    assertEquals([t.leased.holding, t.links.length], [true, 2]);
    await t.upIn(1, "run-1");
    await t.at(32_000);
    assertEquals(t.sent.commands, [{
      kind: "halt",
      cid: 4,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    }]);
    assertEquals(counted, ["login timeout", "denial timeout"]);
    assertEquals(auditLines(logs), [TIMED_OUT_AUDIT]);
  } finally {
    logs.stop();
    await t.leased.stop();
  }
});
