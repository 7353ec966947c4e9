/**
 * Leases and work items against a real redis-server: one holder at a time, a takeover bumps
 * the fencing token, a released lease passes at once, work decided anywhere is carried out
 * once by the holder, a stale holder's outcome is ignored, a recorded outcome is announced to
 * the instance waiting for it, work a dead holder left running is done by the next one, and an
 * ACL user with the rights docs/cluster.md names is enough for all of it; one without the
 * channels is refused at start, and a script that cannot publish leaves nothing behind.
 */
import { getLogger } from "../../../src/log.ts";
import { startCluster } from "../../../src/cluster/cluster.ts";
import { type Clock, systemClock } from "../../../src/clock.ts";
import { redisSettings, setAclUser } from "../../support/redis_settings.ts";
import { Secret } from "../../../src/config/secret.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { Lease, leaseTiming } from "../../../src/cluster/lease.ts";
import { leaseTime } from "../../../src/cluster/lease_time.ts";
import { LeaseKeeper } from "../../../src/cluster/lease_keeper.ts";
import { remoteCommander } from "../../../src/cluster/remote_commander.ts";
import { WorkRunner } from "../../../src/cluster/work_runner.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import { type ClientCommander, CommandUndeliveredError } from "../../../src/bridge/commander.ts";
import type { Redis } from "ioredis";
import { ManagementCommandError } from "../../../src/management/errors.ts";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { idleLink } from "../../support/idle_link.ts";
import { RedisServer } from "../../support/redis_server.ts";

const log = getLogger("cluster-test");

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A redis-server, a client, the cluster keys and a work queue with server "udp" at `token`. */
function withQueue(
  token: number,
  run: (ctx: { redis: Redis; keys: ClusterKeys; queue: WorkQueue }) => Promise<void>,
): Promise<void> {
  return withRedis(async (server) => {
    const redis = await connectRedis(redisSettings(server.url, "cluster-test:"));
    const keys = new ClusterKeys("cluster-test:");
    await redis.set(keys.fence("udp"), String(token));
    try {
      await run({ redis, keys, queue: new WorkQueue(redis, keys, systemClock) });
    } finally {
      redis.disconnect();
    }
  });
}

function runner(queue: WorkQueue, token: number, commander: ClientCommander): WorkRunner {
  return new WorkRunner({
    queue,
    server: "udp",
    token,
    commander,
    clock: systemClock,
    log,
    notified: () => false,
    notifiedPollMs: 3_000,
  });
}

/** A lease keeper for server "udp" with a 3 s lease; changes are told to `onChange`. */
function leaseKeeper(
  redis: Redis,
  keys: ClusterKeys,
  name: string,
  onChange: (change: string, token: number | undefined) => void = () => {},
) {
  const lease = new Lease(leaseTiming(3_000));
  const keeper = new LeaseKeeper({
    redis,
    keys,
    server: "udp",
    instanceId: name,
    lease,
    clock: systemClock,
    leaseTime: leaseTime(systemClock),
    log,
    onChange,
  });
  return { lease, keeper };
}

async function withRedis(run: (server: RedisServer) => Promise<void>): Promise<void> {
  const server = await RedisServer.start();
  try {
    await run(server);
  } finally {
    await server.dispose();
  }
}

Deno.test({
  name: "lease: one holder; a released lease passes to the standby with a newer token",
  fn: () =>
    withQueue(0, async ({ redis, keys }) => {
      const events: string[] = [];
      const keeper = (name: string) =>
        leaseKeeper(
          redis,
          keys,
          name,
          (change, token) => events.push(`${name} ${change} ${token}`),
        );
      const a = keeper("a");
      const b = keeper("b");
      try {
        a.keeper.start();
        await until(() => a.lease.token !== undefined, "a to hold the lease");
        b.keeper.start();
        // b retries every 600 ms and keeps finding the lease held.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        assertEquals(b.lease.token, undefined);
        assertEquals(await redis.get(keys.lease("udp")), `a#${a.lease.token}`);
        const first = a.lease.token!;
        await a.keeper.stop();
        await until(() => b.lease.token !== undefined, "b to take over");
        assert(b.lease.token! > first, "the fencing token grows at each takeover");
        assertEquals(events, [
          `a acquired ${first}`,
          `a lost ${first}`,
          `b acquired ${first + 1}`,
        ]);
        await b.keeper.stop();
        assertEquals(await redis.get(keys.lease("udp")), null, "released on a clean stop");
      } finally {
        // Stopping again is a no-op.
        await a.keeper.stop();
        await b.keeper.stop();
      }
    }),
});

Deno.test({
  name: "lease: a holder that stops renewing is replaced once the lease runs out",
  fn: () =>
    withQueue(1, async ({ redis, keys }) => {
      // A dead holder: its lease was written and is never renewed.
      await redis.set(keys.lease("udp"), "dead#1", "PX", 1_500);
      const { lease, keeper } = leaseKeeper(redis, keys, "b");
      try {
        keeper.start();
        await until(() => lease.token !== undefined, "the standby to take over");
        assertEquals(lease.token, 2);
      } finally {
        await keeper.stop();
      }
    }),
});

Deno.test({
  name: "lease: a holder whose key another instance holds now (it was paused past its lease) " +
    "loses it at its next renewal, and leaves the new holder's key and expiry alone",
  fn: () =>
    withQueue(0, async ({ redis, keys }) => {
      const events: string[] = [];
      const a = leaseKeeper(redis, keys, "a", (change) => events.push(change));
      try {
        a.keeper.start();
        await until(() => a.lease.token !== undefined, "a to hold the lease");
        // a's lease ran out while it was paused, and b took over with the next token.
        await redis.set(keys.lease("udp"), "b#9", "PX", 10_000);
        // a renews every second (a 3 s lease).
        await until(() => a.lease.token === undefined, "a to find the lease taken", 2_500);
        assertEquals(events, ["acquired", "lost"]);
        assertEquals(await redis.get(keys.lease("udp")), "b#9");
        const ttl = await redis.pttl(keys.lease("udp"));
        assert(ttl > 3_000, `b's lease expires in ${ttl} ms: a renewal set it to a's 3 s`);
      } finally {
        await a.keeper.stop();
      }
    }),
});

Deno.test({
  name: "work: carried out once by the holder, answered to every requester, stale outcomes ignored",
  fn: () =>
    withQueue(4, async ({ redis, keys, queue }) => {
      const openvpn = new RecordingCommander();
      const holder = runner(queue, 4, openvpn);
      const refusing = runner(
        queue,
        4,
        Object.assign(new RecordingCommander(), {
          deny: () => Promise.reject(new ManagementCommandError("client-deny", "ERROR: no client")),
        }),
      );
      try {
        holder.start();
        const remote = remoteCommander(queue, "udp", 3_000);
        // The same sign-in answered from two instances at once: one client-auth.
        const signIn = {
          loginId: "AAAAAAAAAAAAAAAAAAAAAA",
          openvpnRun: "28115@1795879225:CONNECTED",
        };
        await Promise.all([
          remote.auth(7, 1, ["push x"], signIn),
          remote.auth(7, 1, ["push x"], signIn),
        ]);
        await remote.kill(3, "bye");
        // OpenVPN restarted (cids start again): a kill of cid 3 within the minute the first
        // one's outcome is kept, and a sign-in on 7/1 in the new run, are carried out too.
        await remote.kill(3, "bye");
        const restarted = { ...signIn, openvpnRun: "28302@1795879301:CONNECTED" };
        await remote.auth(7, 1, ["push y"], restarted);
        assertEquals(openvpn.commands, [
          { kind: "auth", cid: 7, kid: 1, lines: ["push x"], signIn },
          { kind: "kill", cid: 3, message: "bye" },
          { kind: "kill", cid: 3, message: "bye" },
          { kind: "auth", cid: 7, kid: 1, lines: ["push y"], signIn: restarted },
        ]);
        // OpenVPN's ERROR reaches the requester as a refused command.
        holder.stop();
        refusing.start();
        await assertRejects(() => remote.deny(8, 1, "r", "c"), ManagementCommandError);
        refusing.stop();
        // A holder whose token is no longer the newest cannot record anything.
        await redis.set(keys.fence("udp"), "5");
        assertEquals(await queue.record("udp", 4, "9:9", { kind: "ok" }), false);
        assertEquals(await redis.get(keys.outcome("udp", "9:9")), null);
      } finally {
        holder.stop();
        refusing.stop();
      }
    }),
});

Deno.test({
  name: "work: the deadline is Redis's, not a wall clock: a requester an hour behind the holder " +
    "is answered; an item past its deadline is recorded expired and not carried out",
  fn: () =>
    withQueue(4, async ({ redis, keys, queue }) => {
      const hourBehind: Clock = { ...systemClock, now: () => Date.now() - 3_600_000 };
      const requester = new WorkQueue(redis, keys, hourBehind);
      const openvpn = new RecordingCommander();
      const holder = runner(queue, 4, openvpn);
      holder.start();
      try {
        await remoteCommander(requester, "udp", 3_000).kill(3, "bye");
      } finally {
        holder.stop();
      }
      assertEquals(openvpn.commands, [{ kind: "kill", cid: 3, message: "bye" }]);
      // Nobody holds the link while this one waits; the next holder finds it past its deadline.
      await assertRejects(
        () => remoteCommander(requester, "udp", 200).kill(4, "bye"),
        CommandUndeliveredError,
      );
      const next = runner(queue, 4, openvpn);
      next.start();
      try {
        const deadline = Date.now() + 10_000;
        while (await redis.llen(keys.queue("udp")) + await redis.llen(keys.running("udp")) > 0) {
          if (Date.now() > deadline) throw new Error("Timed out waiting for the item's outcome");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        next.stop();
      }
      assertEquals(openvpn.commands.length, 1, "the late item was not carried out");
      const outcomes = await redis.keys(`${keys.prefix}o:udp:kill:4:*`);
      assertEquals(outcomes.length, 1);
      assertEquals(await redis.get(outcomes[0]!), "expired");
    }),
});

Deno.test({
  name: "work: an item a dead holder left running is done by the next holder; none: a clear error",
  fn: () =>
    withQueue(1, async ({ redis, keys, queue }) => {
      const remote = remoteCommander(queue, "udp", 4_000);
      const answered = remote.auth(5, 2, []);
      const openvpn = new RecordingCommander();
      const next = runner(queue, 2, openvpn);
      try {
        // Holder 1 takes it and dies before OpenVPN answered.
        let taken: Awaited<ReturnType<WorkQueue["take"]>> = [];
        const deadline = Date.now() + 10_000;
        while (taken.length === 0) {
          if (Date.now() > deadline) throw new Error("Timed out waiting for the queued item");
          taken = await queue.take("udp", 10);
        }
        assertEquals(taken.map((work) => /^5:2:/.test(work.key)), [true]);
        // Holder 2 takes over (token 2) and finds it running.
        await redis.set(keys.fence("udp"), "2");
        next.start();
        await answered;
      } finally {
        next.stop();
        // Settled either way (at the latest at its 4 s timeout): nothing left for later tests.
        await answered.catch(() => {});
      }
      assertEquals(openvpn.commands, [{ kind: "auth", cid: 5, kid: 2, lines: [] }]);
      assertEquals(await redis.llen(keys.running("udp")), 0);
      // No holder at all: the requester is told so, and the item is never carried out later.
      await assertRejects(() => remote.kill(9, "bye"), CommandUndeliveredError);
    }),
});

Deno.test({
  name:
    "work: the holder takes the oldest work first, and work still running is never hidden behind newer work",
  fn: () =>
    withQueue(4, async ({ redis, keys, queue }) => {
      // Queued as ENQUEUE does (LPUSH): k1 first, the oldest.
      for (const key of ["k1", "k2", "k3"]) await redis.lpush(keys.queue("udp"), key);
      const takenKeys = async () => (await queue.take("udp", 2)).map((w) => w.key).sort();
      assertEquals(await takenKeys(), ["k1", "k2"]);
      // Not finished yet (the link still connecting): taken again, k3 waits its turn.
      assertEquals(await takenKeys(), ["k1", "k2"]);
      assertEquals(await redis.llen(keys.running("udp")), 2);
      assertEquals(await queue.record("udp", 4, "k1", { kind: "ok" }), true);
      assertEquals(await takenKeys(), ["k2", "k3"]);
    }),
});

Deno.test({
  name:
    "work: a recorded outcome is announced on the server's outcome channel, a refused record is not",
  fn: () =>
    withQueue(4, async ({ redis, keys, queue }) => {
      const subscriber = redis.duplicate();
      const heard: string[] = [];
      subscriber.on("message", (channel: string, message: string) => {
        heard.push(`${channel} ${message}`);
      });
      try {
        await subscriber.connect();
        await subscriber.subscribe(keys.outcomeChannel("udp"));
        assertEquals(await queue.record("udp", 3, "6:1", { kind: "ok" }), false, "stale token");
        assertEquals(await queue.record("udp", 4, "7:1", { kind: "ok" }), true);
        await until(() => heard.length > 0, "the announcement");
        assertEquals(heard, [`${keys.outcomeChannel("udp")} 7:1`]);
      } finally {
        subscriber.disconnect();
      }
    }),
});

Deno.test({
  name:
    "work: an ACL user limited to the key prefix and its c:* channels can queue, carry out and record work",
  fn: () =>
    withRedis(async (server) => {
      // What docs/cluster.md asks for: keys under sessions.key_prefix, channels under
      // <key_prefix>c: (Redis 7 gives a new ACL user no channels at all).
      await setAclUser(server.url, "bridge", "bridge-password", [
        "~cluster-test:*",
        "&cluster-test:c:*",
        "+@all",
      ]);
      const redis = await connectRedis(redisSettings(server.url, "cluster-test:", {
        username: "bridge",
        password: new Secret("bridge-password"),
      }));
      const keys = new ClusterKeys("cluster-test:");
      const subscriber = redis.duplicate();
      const heard: string[] = [];
      subscriber.on("message", (channel: string) => heard.push(channel));
      try {
        await subscriber.connect();
        await subscriber.subscribe(keys.channel("udp"), keys.outcomeChannel("udp"));
        await redis.set(keys.fence("udp"), "4");
        const queue = new WorkQueue(redis, keys, systemClock);
        const openvpn = new RecordingCommander();
        const holder = runner(queue, 4, openvpn);
        holder.start();
        try {
          await remoteCommander(queue, "udp", 3_000).auth(7, 1, ["push x"]);
        } finally {
          holder.stop();
        }
        assertEquals(openvpn.commands, [{ kind: "auth", cid: 7, kid: 1, lines: ["push x"] }]);
        await until(() => heard.length === 2, "both announcements");
        assertEquals(heard, [keys.channel("udp"), keys.outcomeChannel("udp")]);
      } finally {
        subscriber.disconnect();
        redis.disconnect();
      }
    }),
});

/**
 * An ACL user "bridge" with every command and the keys under cluster-test:, but no channels:
 * what Redis 7 makes of `ACL SETUSER` without `&...` (acl-pubsub-default resetchannels).
 */
async function userWithoutChannels(server: RedisServer): Promise<Redis> {
  await setAclUser(server.url, "bridge", "bridge-password", [
    "~cluster-test:*",
    "resetchannels",
    "+@all",
  ]);
  return connectRedis(redisSettings(server.url, "cluster-test:", {
    username: "bridge",
    password: new Secret("bridge-password"),
  }));
}

Deno.test({
  name: "cluster start: an ACL user limited to the key prefix without its c:* channels is " +
    "refused, naming &<key_prefix>c:* and the fix, and takes no lease",
  fn: () =>
    withRedis(async (server) => {
      (await userWithoutChannels(server)).disconnect();
      const error = await assertRejects(() =>
        startCluster({
          config: { instanceId: "vpn-a", leaseMs: 3_000 },
          redis: redisSettings(server.url, "cluster-test:", {
            username: "bridge",
            password: new Secret("bridge-password"),
          }),
          servers: ["udp"],
          clock: systemClock,
          log,
          build: () => idleLink(),
        })
      );
      assertEquals(
        error.message,
        `Redis refused the cluster's notification channels at redis://127.0.0.1:${server.port}/0: ` +
          "NOPERM this user has no permissions to access one of the channels used as arguments; " +
          `allow the ACL user "bridge" the channels under sessions.key_prefix + "c:" in its ACL ` +
          "(&cluster-test:c:*, with subscribe and publish; Redis 7 gives a new ACL user none), " +
          "or use another sessions.username",
      );
      const admin = await connectRedis(redisSettings(server.url, "cluster-test:"));
      try {
        assertEquals(await admin.keys("cluster-test:c:*"), [], "a lease or fence was written");
      } finally {
        admin.disconnect();
      }
    }),
});

Deno.test({
  name: "work: a script refused its PUBLISH (an ACL user without the c:* channels) writes " +
    "nothing: ENQUEUE queues no item, RECORD leaves the item running and unanswered",
  fn: () =>
    withRedis(async (server) => {
      const redis = await userWithoutChannels(server);
      const keys = new ClusterKeys("cluster-test:");
      try {
        const queue = new WorkQueue(redis, keys, systemClock);
        await assertRejects(
          () => queue.enqueue("udp", { op: "kill", cid: 3, message: "bye" }, 3_000),
          Error,
          "can't publish to the channel",
        );
        assertEquals(await redis.llen(keys.queue("udp")), 0, "the item was queued");
        assertEquals(await redis.keys(`${keys.prefix}w:*`), [], "the item was stored");
        // A holder (token 4) carried out "k1" and records its outcome.
        await redis.set(keys.fence("udp"), "4");
        await redis.lpush(keys.running("udp"), "k1");
        await redis.set(keys.item("udp", "k1"), "item");
        await assertRejects(
          () => queue.record("udp", 4, "k1", { kind: "ok" }),
          Error,
          "can't publish to the channel",
        );
        assertEquals(await redis.get(keys.outcome("udp", "k1")), null, "the outcome was stored");
        assertEquals(await redis.lrange(keys.running("udp"), 0, -1), ["k1"]);
        assertEquals(await redis.get(keys.item("udp", "k1")), "item");
      } finally {
        redis.disconnect();
      }
    }),
});
