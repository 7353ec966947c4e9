/**
 * Server name claims (src/cluster/server_name_claims.ts) against a real redis-server: bridges
 * sharing one Redis without being a cluster each claim their OpenVPN server names, a bridge
 * starting with a name a live bridge (or a cluster instance) holds is refused with the reason, a
 * released claim passes at once, one a bridge killed with -9 left runs out and is waited for,
 * and a claim lost while running is logged and taken back. A cluster on the same key prefix is
 * kept off a name a live bridge claims: refused at start, and not taking the lease meanwhile.
 */
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { systemClock } from "../../../src/clock.ts";
import { getLogger } from "../../../src/log.ts";
import { startCluster } from "../../../src/cluster/cluster.ts";
import { Lease, leaseTiming } from "../../../src/cluster/lease.ts";
import { LeaseKeeper } from "../../../src/cluster/lease_keeper.ts";
import { leaseTime } from "../../../src/cluster/lease_time.ts";
import {
  type RunningServerNameClaims,
  ServerNameInUseError,
  startServerNameClaims,
} from "../../../src/cluster/server_name_claims.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { type CapturedLine, captureLogs } from "../../support/log_capture.ts";
import { idleLink } from "../../support/idle_link.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const PREFIX = "claims-test:";
/** Short claims, so that renewals, expiry and refusals are seen within a second or two. */
const CLAIM_MS = 1_000;
const HOLDER = new URL("./server_name_claims_holder.ts", import.meta.url).pathname;
const REPO = new URL("../../../", import.meta.url).pathname;
const THIS_BRIDGE = `the bridge on host ${hostname()}, pid ${Deno.pid}`;

const STORE_TIMEOUT = { storeTimeoutMs: 300 };

function claim(
  server: RedisServer,
  servers: string[],
  options: { keyPrefix?: string; claimMs?: number } = {},
): Promise<RunningServerNameClaims> {
  return startServerNameClaims({
    redis: redisSettings(server.url, options.keyPrefix ?? PREFIX, STORE_TIMEOUT),
    servers,
    clock: systemClock,
    log: getLogger("sessions"),
    claimMs: options.claimMs ?? CLAIM_MS,
  });
}

function refusal(name: string, holder: string, keyPrefix = PREFIX): string {
  return `OpenVPN server name '${name}' is in use by another bridge sharing this Redis ` +
    `(sessions.key_prefix "${keyPrefix}", held by ${holder}): give each bridge's [[openvpn]] ` +
    "servers names of their own, or run them as a [cluster]";
}

/** A redis-server, a client to look at it with, and the log; everything started is stopped. */
async function withRedis(
  run: (
    ctx: {
      server: RedisServer;
      redis: Redis;
      logs: CapturedLine[];
      started: RunningServerNameClaims[];
    },
  ) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start();
  const capture = captureLogs();
  const started: RunningServerNameClaims[] = [];
  let redis: Redis | undefined;
  try {
    redis = await connectRedis(redisSettings(server.url, PREFIX, STORE_TIMEOUT));
    await run({ server, redis, logs: capture.lines, started });
  } finally {
    for (const claims of started) await claims.stop().catch(() => {});
    redis?.disconnect();
    capture.stop();
    await server.dispose();
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function logged(logs: CapturedLine[], level: string, text: string): boolean {
  return logs.some((line) => line.level === level && line.text.includes(text));
}

Deno.test("server name claims: a second bridge with the same name on the same key prefix is refused, naming the name, the prefix and the holder", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    started.push(await claim(server, ["default"]));
    const holder = await redis.get(`${PREFIX}o:default`);
    assert(holder?.startsWith(`${hostname()}/${Deno.pid}/`), `claim holds ${holder}`);
    const pttl = await redis.pttl(`${PREFIX}o:default`);
    assert(pttl > 0 && pttl <= CLAIM_MS, `claim expiry ${pttl} ms`);

    const error = await assertRejects(() => claim(server, ["default"]), ServerNameInUseError);
    assertEquals(error.message, refusal("default", THIS_BRIDGE));
    assertEquals(error.code, "server-name-in-use");
    assertEquals(error.servers, ["default"]);
    // It waited for a sign of life (a renewal) before refusing: said so first.
    assert(logged(logs, "warning", "waiting up to"), "no line about waiting");
    // The first bridge keeps its name.
    assertEquals(await redis.get(`${PREFIX}o:default`), holder);
  });
});

Deno.test("server name claims: a bridge with other names, or with another key_prefix, starts beside one holding 'default'", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    started.push(await claim(server, ["default"]));
    const begun = Date.now();
    started.push(await claim(server, ["udp", "tcp"]));
    started.push(await claim(server, ["default"], { keyPrefix: "other-deployment:" }));
    assert(Date.now() - begun < CLAIM_MS, "a free name was waited for");
    assertEquals(
      (await redis.keys("*o:*")).sort(),
      [`${PREFIX}o:default`, `${PREFIX}o:tcp`, `${PREFIX}o:udp`, "other-deployment:o:default"],
    );
    assert(!logged(logs, "warning", "waiting up to"), "waited for a free name");
  });
});

Deno.test("server name claims: a refused start names every name in use and leaves none of its own claimed", async () => {
  await withRedis(async ({ server, redis, started }) => {
    started.push(await claim(server, ["default", "tcp"]));
    const error = await assertRejects(
      () => claim(server, ["udp", "default", "tcp"]),
      ServerNameInUseError,
    );
    assertEquals(error.servers, ["default", "tcp"]);
    assert(
      error.message.startsWith("OpenVPN server names 'default', 'tcp' are in use by another"),
      error.message,
    );
    // "udp" was free and taken while the others were waited for: released with the refusal.
    assertEquals(await redis.exists(`${PREFIX}o:udp`), 0);
  });
});

Deno.test("server name claims: of two bridges starting at the same moment with the same name, exactly one starts", async () => {
  await withRedis(async ({ server, started }) => {
    const results = await Promise.allSettled([
      claim(server, ["default"]),
      claim(server, ["default"]),
    ]);
    for (const result of results) if (result.status === "fulfilled") started.push(result.value);
    assertEquals(started.length, 1);
    const refused = results.find((result) => result.status === "rejected");
    assert(refused?.reason instanceof ServerNameInUseError, String(refused?.reason));
  });
});

Deno.test("server name claims: a bridge that stops releases its names, and the next one claims them at once", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    const first = await claim(server, ["default"]);
    await first.stop();
    assertEquals(await redis.exists(`${PREFIX}o:default`), 0);
    const begun = Date.now();
    started.push(await claim(server, ["default"]));
    assert(Date.now() - begun < CLAIM_MS, "waited for a released name");
    assert(!logged(logs, "warning", "waiting up to"), "waited for a released name");
  });
});

Deno.test("server name claims: the claim of a bridge killed with -9 runs out, and a restart waits for it, saying so", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    const claimMs = 2_000;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        HOLDER,
        server.url,
        PREFIX,
        String(claimMs),
        "default",
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    try {
      while (!output.includes("claimed\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`holder ended before claiming: ${output}`);
        output += value;
      }
    } finally {
      child.kill("SIGKILL");
      await reader.cancel().catch(() => {});
      await child.status;
    }
    const dead = await redis.get(`${PREFIX}o:default`);
    assert(dead?.startsWith(`${hostname()}/${child.pid}/`), `claim holds ${dead}`);

    const begun = Date.now();
    started.push(await claim(server, ["default"], { claimMs }));
    const waited = Date.now() - begun;
    // The dead claim had between two thirds (just before a renewal) and all of its time left.
    assert(waited > claimMs / 3 && waited < claimMs + 1_000, `waited ${waited} ms`);
    const line = logs.find(({ text }) => text.includes("waiting up to"));
    assertEquals(
      line?.text,
      `OpenVPN server name default is claimed in Redis (sessions.key_prefix ${PREFIX}) by the ` +
        `bridge on host ${hostname()}, pid ${child.pid}: waiting up to ${
          line?.properties["seconds"]
        } s for the claim to run out, as it does when that bridge was killed or crashed without ` +
        "releasing it; if it is alive it renews the claim, and this bridge is refused",
    );
    assert(logged(logs, "info", "Claimed OpenVPN server name default: the old claim ran out"));
    const ours = await redis.get(`${PREFIX}o:default`);
    assert(ours?.startsWith(`${hostname()}/${Deno.pid}/`), `claim holds ${ours}`);
  });
});

Deno.test("server name claims: renewals keep a claim for many times its expiry", async () => {
  await withRedis(async ({ server, redis, started }) => {
    const claims = await claim(server, ["default"], { claimMs: 600 });
    started.push(claims);
    const holder = await redis.get(`${PREFIX}o:default`);
    await sleep(3 * 600);
    assertEquals(await redis.get(`${PREFIX}o:default`), holder);
    assertEquals(claims.held(), ["default"]);
    await assertRejects(() => claim(server, ["default"], { claimMs: 600 }), ServerNameInUseError);
  });
});

Deno.test("server name claims: a claim flushed from Redis, or taken by another bridge meanwhile, is logged as an error and taken back once free", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    const claims = await claim(server, ["default"]);
    started.push(claims);
    const key = `${PREFIX}o:default`;
    const ours = await redis.get(key);

    await redis.flushall();
    await until(
      () =>
        logged(
          logs,
          "error",
          `The claim on OpenVPN server name default was gone from Redis (sessions.key_prefix ${PREFIX}; flushed, or restarted without persistence?): claimed it again`,
        ),
      "the loss to be logged",
    );
    assertEquals(await redis.get(key), ours);

    // Another bridge (its claim set by hand here) took the name while ours was gone.
    await redis.set(key, "vpn2.example.com/4242/a1b2c3", "PX", 60_000);
    await until(
      () => logged(logs, "error", "is now held by the bridge on host vpn2.example.com, pid 4242"),
      "the loss to be logged",
    );
    assertEquals(claims.held(), []);
    const conflict = logs.find(({ text }) => text.includes("is now held by"));
    assertEquals(
      conflict?.text,
      "OpenVPN server name default is now held by the bridge on host vpn2.example.com, pid " +
        `4242, another bridge sharing this Redis (sessions.key_prefix ${PREFIX}): this bridge ` +
        "lost its claim, and the two treat each other's clients as their own; give each " +
        "bridge's [[openvpn]] servers names of their own, or run them as a [cluster]. This " +
        "bridge keeps serving and claims the name again once it is free",
    );
    // Retried every 200 ms, logged once (then once a minute).
    await sleep(600);
    assertEquals(logs.filter(({ text }) => text.includes("is now held by")).length, 1);

    await redis.del(key);
    await until(
      () => logged(logs, "info", "Claimed OpenVPN server name default again"),
      "the claim to be taken back",
    );
    assertEquals(await redis.get(key), ours);
    assertEquals(claims.held(), ["default"]);
  });
});

Deno.test("server name claims: Redis frozen for longer than the claim: the loss is logged, and the name claimed again when Redis answers", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    const claims = await claim(server, ["default"]);
    started.push(claims);
    const ours = await redis.get(`${PREFIX}o:default`);
    server.pause();
    try {
      await until(
        () => logged(logs, "error", "The claim on OpenVPN server name default ran out"),
        "the loss to be logged",
      );
      assertEquals(claims.held(), []);
      await until(
        () => logged(logs, "warning", "Claims on OpenVPN server names: Redis did not answer"),
        "the failing renewals to be logged",
      );
    } finally {
      server.resume();
    }
    await until(
      () => logged(logs, "info", "Claims on OpenVPN server names: Redis answers again"),
      "the claim to be taken back",
    );
    assertEquals(claims.held(), ["default"]);
    assertEquals(await redis.get(`${PREFIX}o:default`), ours);
    assert(logged(logs, "info", "Claimed OpenVPN server name default again"));
  });
});

Deno.test("server name claims: a name a cluster instance on the same key prefix holds the lease on is refused", async () => {
  await withRedis(async ({ server, redis, started }) => {
    const { lease, keeper } = leaseKeeper(redis, "vpn-a");
    keeper.start();
    try {
      await until(() => lease.token !== undefined, "the instance to hold the lease");
      const error = await assertRejects(() => claim(server, ["udp"]), ServerNameInUseError);
      assertEquals(error.message, refusal("udp", "cluster instance vpn-a"));
      started.push(await claim(server, ["tcp"]));
    } finally {
      await keeper.stop();
    }
  });
});

/** A LeaseKeeper for "udp" on PREFIX, as a cluster instance runs one for each server. */
function leaseKeeper(redis: Redis, instanceId: string) {
  const lease = new Lease(leaseTiming(3_000));
  const keeper = new LeaseKeeper({
    redis,
    keys: new ClusterKeys(PREFIX),
    server: "udp",
    instanceId,
    lease,
    clock: systemClock,
    leaseTime: leaseTime(systemClock),
    log: getLogger("cluster"),
    onChange: () => {},
  });
  return { lease, keeper };
}

Deno.test("server name claims: a cluster instance starting on a name a live bridge on the same key prefix claims is refused, naming the bridge, and takes no lease", async () => {
  await withRedis(async ({ server, redis, logs, started }) => {
    started.push(await claim(server, ["udp"]));
    const error = await assertRejects(
      () =>
        startCluster({
          config: { instanceId: "vpn-a", leaseMs: 3_000 },
          redis: redisSettings(server.url, PREFIX, STORE_TIMEOUT),
          servers: ["tcp", "udp"],
          clock: systemClock,
          log: getLogger("cluster"),
          build: () => idleLink(),
          serverNameClaimMs: CLAIM_MS,
        }),
      ServerNameInUseError,
    );
    assertEquals(error.message, refusal("udp", THIS_BRIDGE));
    // It waited for a sign of life, as a bridge's second would.
    assert(logged(logs, "warning", "waiting up to"), "no line about waiting");
    assertEquals(await redis.keys(`${PREFIX}c:lease:*`), []);
  });
});

Deno.test("server name claims: a name a bridge claimed first is not leased by a cluster instance, which says so once and takes the lease when the bridge stops", async () => {
  await withRedis(async ({ server, redis, logs }) => {
    const bridge = await claim(server, ["udp"]);
    const { lease, keeper } = leaseKeeper(redis, "vpn-a");
    keeper.start();
    try {
      // A standby asks every 600 ms: a few requests, none granted.
      await sleep(2_000);
      assertEquals(lease.token, undefined);
      assertEquals(await redis.exists(`${PREFIX}c:lease:udp`), 0);
      const said = logs.filter(({ text }) => text.includes("is claimed by"));
      assertEquals(said.map(({ level, text }) => [level, text]), [[
        "error",
        `OpenVPN server name udp is claimed by ${THIS_BRIDGE}, a bridge sharing this Redis ` +
        `(sessions.key_prefix ${PREFIX}) outside this cluster: the two would end, unbind and ` +
        "kill each other's clients, so no instance takes the lease on udp while that claim is " +
        "held. Give each bridge's [[openvpn]] servers names of their own, or run them in this " +
        "[cluster]; the lease is taken once that bridge stops",
      ]]);
      await bridge.stop();
      await until(() => lease.token !== undefined, "the instance to take the lease");
      assert(logged(logs, "info", "OpenVPN server name udp is no longer claimed outside"));
    } finally {
      await keeper.stop();
    }
  });
});

Deno.test("server name claims: a cluster instance starting on a name a dead bridge's claim holds waits for it to run out, then starts", async () => {
  await withRedis(async ({ server, redis, logs }) => {
    await redis.set(`${PREFIX}o:udp`, "vpn2.example.com/4242/a1b2c3", "PX", 600);
    const cluster = await startCluster({
      config: { instanceId: "vpn-a", leaseMs: 3_000 },
      redis: redisSettings(server.url, PREFIX, STORE_TIMEOUT),
      servers: ["udp"],
      clock: systemClock,
      log: getLogger("cluster"),
      build: () => idleLink(),
      serverNameClaimMs: CLAIM_MS,
    });
    try {
      assert(logged(logs, "warning", "waiting up to"), "no line about waiting");
      assert(logged(logs, "info", "OpenVPN server name udp is free: the old claim ran out"));
      await until(() => cluster.holds("udp"), "the instance to take the lease");
      assert(!logged(logs, "error", "is claimed by"), "the dead claim was reported as live");
    } finally {
      await cluster.stop();
    }
  });
});
