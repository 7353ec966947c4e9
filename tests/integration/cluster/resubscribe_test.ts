/**
 * The cluster's subscriber losing its connection, on a real redis-server behind a proxy: killed
 * while subscribed (CLIENT KILL TYPE pubsub) and closed just as it subscribes again. ioredis's
 * own resubscribe left that SUBSCRIBE's rejection unhandled, which ends the process, and the
 * connection after it came back with no channels while the instance took it for subscribed.
 * A SUBSCRIBE Redis refuses at a reconnect (the ACL changed meanwhile) is logged as an error that
 * names the ACL rule to add, in the words of the start's refusal.
 */
import { getLogger } from "../../../src/log.ts";
import { startCluster } from "../../../src/cluster/cluster.ts";
import { systemClock } from "../../../src/clock.ts";
import { remoteCommander } from "../../../src/cluster/remote_commander.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import { Secret } from "../../../src/config/secret.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { assertEquals } from "../../support/assert.ts";
import { idleLink } from "../../support/idle_link.ts";
import type { RecordingCommander } from "../../support/recording_commander.ts";
import { RedisProxy } from "../../support/redis_proxy.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings, setAclUser } from "../../support/redis_settings.ts";

const PREFIX = "resubscribe-test:";
const KILLS = 20;
/** Its runner polls every 10 s while notified: only a notification delivers work sooner. */
const LEASE_MS = 30_000;
/** Undelivered by then, the remote command fails. */
const DELIVERY_MS = 3_000;

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "cluster: a subscriber killed 20 times, half of them as it subscribes again, is " +
    "subscribed again each time (work still wakes the holder at once), with no unhandled rejection",
  async fn() {
    const unhandled: string[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => {
      unhandled.push(String(event.reason));
      // Recorded for the assertion below instead of failing the whole run out of turn.
      event.preventDefault();
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);
    const server = await RedisServer.start();
    const proxy = await RedisProxy.start(server.port);
    const admin = await connectRedis(redisSettings(server.url, PREFIX));
    const link = idleLink();
    const cluster = await startCluster({
      config: { instanceId: "vpn-a", leaseMs: LEASE_MS },
      redis: redisSettings(`redis://127.0.0.1:${proxy.port}/0`, PREFIX),
      servers: ["udp"],
      clock: systemClock,
      log: getLogger("cluster-test"),
      build: () => link,
    });
    const keys = new ClusterKeys(PREFIX);
    const channels = [keys.channel("udp"), keys.outcomeChannel("udp")];
    const subscribers = async () =>
      (await admin.call("PUBSUB", "NUMSUB", ...channels) as Array<string | number>)
        .filter((_, index) => index % 2 === 1);
    try {
      await until(() => Promise.resolve(cluster.holds("udp")), "the lease");
      for (let kill = 0; kill < KILLS; kill++) {
        // Every other time its next SUBSCRIBE is lost with its connection.
        if (kill % 2 === 0) proxy.closeAt("subscribe", 1);
        // Killed at varying moments after it was subscribed.
        await new Promise((resolve) => setTimeout(resolve, (kill * 7) % 40));
        assertEquals(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"), 1, `kill ${kill}`);
        await until(
          async () => {
            assertEquals(unhandled, [], `kill ${kill}`);
            return (await subscribers()).every((count) => count === 1);
          },
          `subscribed again after kill ${kill}`,
        );
        assertEquals(proxy.closesLeft, 0, `kill ${kill}: the SUBSCRIBE closed`);
      }
      // Work queued elsewhere is announced, and the announcement wakes the holder.
      await remoteCommander(new WorkQueue(admin, keys, systemClock), "udp", DELIVERY_MS)
        .auth(7, 1, ["push x"]);
      assertEquals((link.commander as RecordingCommander).commands, [
        { kind: "auth", cid: 7, kid: 1, lines: ["push x"] },
      ]);
      assertEquals(unhandled, []);
    } finally {
      await cluster.stop();
      admin.disconnect();
      await proxy.close();
      await server.dispose();
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
    }
  },
});

Deno.test({
  name: "cluster: a subscriber refused its channels at a reconnect (the ACL changed) logs an " +
    "error naming the ACL rule to add, as the start's refusal does",
  async fn() {
    const server = await RedisServer.start();
    const logs = captureLogs();
    const admin = await connectRedis(redisSettings(server.url, PREFIX));
    const bridgeAcl = [`~${PREFIX}*`, `&${PREFIX}c:*`, "+@all"];
    await setAclUser(server.url, "bridge", "bridge-password", bridgeAcl);
    const cluster = await startCluster({
      config: { instanceId: "vpn-a", leaseMs: LEASE_MS },
      redis: redisSettings(server.url, PREFIX, {
        username: "bridge",
        password: new Secret("bridge-password"),
      }),
      servers: ["udp"],
      clock: systemClock,
      log: getLogger("cluster-test"),
      build: () => idleLink(),
    });
    try {
      await setAclUser(server.url, "bridge", "bridge-password", ["resetchannels"]);
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      const warned = () => logs.lines.filter((line) => /Work notifications/.test(line.text));
      await until(() => Promise.resolve(warned().length > 0), "the warning");
      // The scripts that queue work and record outcomes publish on these channels: refused
      // too, so nothing crosses instances, which "polling only" would have hidden.
      assertEquals(warned().map((line) => [line.level, line.text]), [[
        "error",
        "Work notifications refused, and with them all work between instances: Redis refused " +
        `the cluster's notification channels at redis://127.0.0.1:${server.port}/0: NOPERM ` +
        "this user has no permissions to access one of the channels used as arguments; allow " +
        'the ACL user "bridge" the channels under sessions.key_prefix + "c:" in its ACL ' +
        `(&${PREFIX}c:*, with subscribe and publish; Redis 7 gives a new ACL user none), or ` +
        "use another sessions.username",
      ]]);
    } finally {
      await cluster.stop();
      admin.disconnect();
      logs.stop();
      await server.dispose();
    }
  },
});
