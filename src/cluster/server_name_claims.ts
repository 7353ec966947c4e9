/**
 * The OpenVPN server names of a bridge that shares Redis with other bridges without being a
 * `[cluster]` with them. The store finds a client by its server's name and its cid
 * (`sc:<server>` in sessions/redis_scripts.ts), and a cid is unique only within one OpenVPN
 * server: two bridges whose servers are both named "default" would end, unbind and kill each
 * other's clients. So each bridge claims its names in Redis for as long as it runs, and one that
 * starts with a name a live bridge holds is refused at start. The instances of a cluster share
 * their names by design and claim none: a cluster's lease on a name counts as held here (CLAIM),
 * a name claimed here is not leased (redis_scripts.ts, ACQUIRE), and a cluster instance starting
 * while a live bridge claims one of its names is refused as that bridge's second would be
 * (`refuseClaimedNames`).
 *
 * Key (P = sessions.key_prefix; no other key starts with "o:"):
 *   P o:<server>   string  "<host>/<pid>/<random>" of the bridge holding the name; PX = the
 *                          claim, renewed on the lease timing (lease.ts) and deleted at a clean
 *                          stop if still ours
 *
 * A bridge killed with -9 leaves its claims for at most the claim's time. Its restart (systemd
 * restarts it 2 s later) finds them held and waits for them to run out, with a warning saying so,
 * instead of failing: refused, it would fail again at each restart until the claim ran out, or
 * until systemd stopped restarting it.
 * At first sight a dead holder looks like a live one, but a live one renews its claim: the
 * waiting bridge is refused as soon as it sees a renewal, and at the latest once the claim should
 * have run out.
 */
import { hostname } from "node:os";
import process from "node:process";
import type { Redis } from "ioredis";
import type { Clock, TimerHandle } from "../clock.ts";
import type { RedisSettings } from "../config/types.ts";
import type { Logger } from "../log.ts";
import { printable } from "../printable_text.ts";
import { randomToken } from "../random_token.ts";
import { connectRedisWithOwnOutageLines } from "../sessions/redis_connection.ts";
import { errorText } from "../error_text.ts";
import { WarningInterval } from "../warning_interval.ts";
import { DEFAULT_LEASE_MS, type LeaseTiming, leaseTiming } from "./lease.ts";
import { leaseTime } from "./lease_time.ts";
import { RELEASE } from "./redis_scripts.ts";
import { ClusterKeys } from "./work_queue.ts";

/** A name another bridge took from us is told about again this often while it keeps it. */
const CONFLICT_REPEAT_MS = 60_000;

/**
 * Renews our claim, takes a free one, or names its holder; a name the cluster of this prefix
 * holds a lease on (an instance of it is live) counts as held. KEYS: claim, the cluster's lease
 * on the same server. ARGV: our holder value, claim ms. Returns {'renewed'}, {'taken'}, or
 * {'bridge' | 'cluster', holder, PTTL}.
 */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'renewed'}
end
if held then return {'bridge', held, redis.call('PTTL', KEYS[1])} end
local lease = redis.call('GET', KEYS[2])
if lease then return {'cluster', lease, redis.call('PTTL', KEYS[2])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'taken'}
`;

/**
 * Only looks: the claim's holder and its time left, or {'free'} (a cluster's start). KEYS:
 * claim. Returns {'free'} or {'bridge', holder, PTTL}.
 */
const LOOK = `
local held = redis.call('GET', KEYS[1])
if held then return {'bridge', held, redis.call('PTTL', KEYS[1])} end
return {'free'}
`;

/** The key claiming the OpenVPN server name `server` in Redis; the one place it is built. */
export function serverNameClaimKey(keyPrefix: string, server: string): string {
  return `${keyPrefix}o:${server}`;
}

interface Holder {
  value: string;
  cluster: boolean;
}

/** What one look at a name's claim found: ours now (`renewed`, `taken`), free, or held. */
type Answer =
  | { kind: "renewed" | "taken" | "free" }
  | { kind: "held"; holder: Holder; pttl: number };

/** A bridge refused at start: another one sharing the Redis key prefix holds these names. */
export class ServerNameInUseError extends Error {
  readonly code = "server-name-in-use";
  readonly servers: readonly string[];

  constructor(servers: readonly string[], holders: readonly string[], keyPrefix: string) {
    const names = servers.map((server) => `'${server}'`).join(", ");
    const [name, verb] = servers.length === 1 ? ["name", "is"] : ["names", "are"];
    super(
      `OpenVPN server ${name} ${names} ${verb} in use by another bridge sharing this Redis ` +
        `(sessions.key_prefix ${JSON.stringify(keyPrefix)}, held by ${holders.join("; ")}): ` +
        "give each bridge's [[openvpn]] servers names of their own, or run them as a [cluster]",
    );
    this.name = "ServerNameInUseError";
    this.servers = servers;
  }
}

export interface ServerNameClaimsDeps {
  redis: Redis;
  keyPrefix: string;
  servers: readonly string[];
  clock: Clock;
  log: Logger;
  /**
   * How long a claim outlives a bridge that stopped renewing it: the cluster's default lease
   * (DEFAULT_LEASE_MS) unless given; shorter in tests.
   */
  claimMs?: number;
}

/** Where one kept name stands. */
interface Kept {
  /** Held until this (lease time) by our own clock; undefined: lost, claimed again when free. */
  heldUntil: number | undefined;
  /** While another bridge holds the name we lost, its error is repeated at most this often. */
  conflict: WarningInterval;
}

export class ServerNameClaims {
  readonly timing: LeaseTiming;
  readonly #deps: ServerNameClaimsDeps;
  /** Names in the store, as the value of their keys, are this bridge's while they hold this. */
  readonly #holderValue = `${hostname()}/${process.pid}/${randomToken(12)}`;
  readonly #time: () => number;
  readonly #keys: ClusterKeys;
  /** The names claimed at start and kept since. */
  readonly #kept = new Map<string, Kept>();
  #timer: TimerHandle | undefined;
  #deadline: TimerHandle | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #stopped = false;
  #failing = false;

  constructor(deps: ServerNameClaimsDeps) {
    this.#deps = deps;
    this.timing = leaseTiming(deps.claimMs ?? DEFAULT_LEASE_MS);
    this.#time = leaseTime(deps.clock);
    this.#keys = new ClusterKeys(deps.keyPrefix);
  }

  /** The key claiming `server` in Redis. */
  key(server: string): string {
    return serverNameClaimKey(this.#deps.keyPrefix, server);
  }

  /** The names this bridge holds now. */
  held(): string[] {
    return [...this.#kept].filter(([, kept]) => kept.heldUntil !== undefined).map(([name]) => name);
  }

  /**
   * Claims every name, waiting for claims a dead bridge left to run out, and keeps them until
   * `stop()`. Throws ServerNameInUseError, having released what it claimed, when live bridges
   * hold some; or the store's error when Redis does not answer.
   */
  async start(): Promise<void> {
    // Renews the names claimed first while others are still waited for.
    this.#schedule();
    try {
      // Every name settles before the release in stop(): one still being waited for would
      // otherwise take its name after it.
      const settled = await Promise.allSettled(this.#deps.servers.map(async (server) => {
        const holder = await this.#claimAtStart(server);
        return holder === undefined ? [] : [{ server, holder }];
      }));
      const failed = settled.find((result) => result.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      refuseIfHeld(
        settled.flatMap((result) => result.status === "fulfilled" ? result.value : []),
        this.#deps.keyPrefix,
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops renewing and deletes the claims that are still ours, so a successor starts at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const { clock, redis, log } = this.#deps;
    clock.clearTimeout(this.#timer);
    clock.clearTimeout(this.#deadline);
    // A renewal or take under way would leave a claim behind if it landed after the release.
    await this.#ticking;
    // Compare-and-delete: also safe for a name we believe lost or never got.
    await Promise.all(
      this.#deps.servers.map((server) =>
        redis.eval(RELEASE, 1, this.key(server), this.#holderValue).catch((error) => {
          if (!this.#kept.has(server)) return;
          log.warning(
            "Could not release the claim on OpenVPN server name {server}: {error}; it runs out " +
              "within {seconds} s",
            { server, error: errorText(error), seconds: this.timing.leaseMs / 1000 },
          );
        })
      ),
    );
    this.#kept.clear();
  }

  /** Takes `server`, waiting for a dead bridge's claim to run out; the live holder if refused. */
  async #claimAtStart(server: string): Promise<Holder | undefined> {
    const { log, keyPrefix } = this.#deps;
    const result = await waitForName({
      server,
      keyPrefix,
      timing: this.timing,
      time: this.#time,
      log,
      sleep: (ms) => this.#sleep(ms),
      ask: () => this.#ask(server),
    });
    if (result.kind === "refused") return result.holder;
    this.#kept.set(server, {
      heldUntil: this.#until(result.sentAt),
      conflict: new WarningInterval(CONFLICT_REPEAT_MS, this.#time),
    });
    if (result.waited) {
      log.info("Claimed OpenVPN server name {server}: the old claim ran out", { server });
    }
    return undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { clock } = this.#deps;
    const allHeld = [...this.#kept.values()].every((kept) => kept.heldUntil !== undefined);
    const delay = allHeld && !this.#failing ? this.timing.renewEveryMs : this.timing.retryEveryMs;
    this.#timer = clock.setTimeout(() => {
      this.#ticking = this.#tick().finally(() => this.#schedule());
    }, delay);
    this.#armDeadline();
  }

  /** Renews every kept name, and takes back the lost ones that are free again. */
  async #tick(): Promise<void> {
    const { log } = this.#deps;
    this.#checkDeadlines();
    const names = [...this.#kept.keys()];
    const results = await Promise.all(names.map(async (server) => {
      const sentAt = this.#time();
      try {
        this.#handle(server, await this.#ask(server), sentAt);
        return undefined;
      } catch (error) {
        return error;
      }
    }));
    if (this.#stopped) return;
    const failure = results.find((error) => error !== undefined);
    if (failure !== undefined && !this.#failing) {
      log.warning(
        "Claims on OpenVPN server names: Redis did not answer: {error}; a claim not renewed " +
          "runs out after {seconds} s",
        { error: errorText(failure), seconds: this.timing.leaseMs / 1000 },
      );
    }
    if (failure === undefined && this.#failing) {
      log.info("Claims on OpenVPN server names: Redis answers again");
    }
    this.#failing = failure !== undefined;
  }

  /**
   * A kept name that is lost is logged as an error, every time, and claimed again as soon as it
   * is free; the bridge keeps serving meanwhile. The claim guards against a configuration
   * mistake, it is no fence: stopping this bridge's links because Redis was flushed or out of
   * reach for a while would deny or disconnect its own users for a store hiccup the store
   * already copes with (store_unreachable), and a bridge that took the name while ours was
   * lost was itself started into the mistake, which its operator fixes with the error below.
   */
  #handle(server: string, answer: Answer, sentAt: number): void {
    const kept = this.#kept.get(server);
    if (kept === undefined || this.#stopped) return;
    const { log, keyPrefix } = this.#deps;
    const wasHeld = kept.heldUntil !== undefined;
    if (answer.kind !== "held") {
      kept.heldUntil = this.#until(sentAt);
      if (answer.kind === "taken" && wasHeld) {
        log.error(
          "The claim on OpenVPN server name {server} was gone from Redis (sessions.key_prefix " +
            "{prefix}; flushed, or restarted without persistence?): claimed it again",
          { server, prefix: keyPrefix },
        );
      } else if (!wasHeld) {
        log.info("Claimed OpenVPN server name {server} again", { server });
      }
      return;
    }
    kept.heldUntil = undefined;
    // The first time at once, then at most once per CONFLICT_REPEAT_MS.
    if (wasHeld) kept.conflict = new WarningInterval(CONFLICT_REPEAT_MS, this.#time);
    if (kept.conflict.due() === undefined) return;
    log.error(
      "OpenVPN server name {server} is now held by {holder}, another bridge sharing this Redis " +
        "(sessions.key_prefix {prefix}): this bridge lost its claim, and the two treat each " +
        "other's clients as their own; give each bridge's [[openvpn]] servers names of their " +
        "own, or run them as a [cluster]. This bridge keeps serving and claims the name again " +
        "once it is free",
      { server, holder: describe(answer.holder), prefix: keyPrefix },
    );
  }

  /** Names whose renewals have not got through in time are lost by our own clock. */
  #checkDeadlines(): void {
    if (this.#stopped) return;
    const now = this.#time();
    for (const [server, kept] of this.#kept) {
      if (kept.heldUntil === undefined || now < kept.heldUntil) continue;
      kept.heldUntil = undefined;
      this.#deps.log.error(
        "The claim on OpenVPN server name {server} ran out: Redis has not renewed it for " +
          "{seconds} s, and another bridge sharing it could take the name meanwhile. This " +
          "bridge keeps serving and claims the name again once Redis answers",
        { server, seconds: this.timing.leaseMs / 1000 },
      );
    }
  }

  /** Logs a loss at its deadline even while a renewal is stuck. */
  #armDeadline(): void {
    const { clock } = this.#deps;
    clock.clearTimeout(this.#deadline);
    const deadlines = [...this.#kept.values()].flatMap(({ heldUntil }) =>
      heldUntil === undefined ? [] : [heldUntil]
    );
    if (deadlines.length === 0) return;
    this.#deadline = clock.setTimeout(
      () => this.#checkDeadlines(),
      Math.max(0, Math.min(...deadlines) - this.#time()),
    );
  }

  async #ask(server: string): Promise<Answer> {
    const reply = await this.#deps.redis.eval(
      CLAIM,
      2,
      this.key(server),
      this.#keys.lease(server),
      this.#holderValue,
      String(this.timing.leaseMs),
    );
    return readAnswer(reply);
  }

  #until(sentAt: number): number {
    return sentAt + this.timing.leaseMs - this.timing.marginMs;
  }

  #sleep(ms: number): Promise<void> {
    return sleep(this.#deps.clock, ms);
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** What waiting for one name at start needs: how to look at its claim, and on what timing. */
interface NameWait {
  server: string;
  keyPrefix: string;
  /** The claims' timing (a live holder renews on it). */
  timing: LeaseTiming;
  time: () => number;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
  ask: () => Promise<Answer>;
}

type NameWaitResult =
  | { kind: "refused"; holder: Holder }
  /** `sentAt`: when the ask that found it ours or free was sent; `waited`: not the first. */
  | { kind: "free"; sentAt: number; waited: boolean };

/**
 * Asks until the name is not held, waiting for a claim a dead bridge left to run out; refused
 * as soon as the holder shows it is alive (see the top of this file).
 */
async function waitForName(wait: NameWait): Promise<NameWaitResult> {
  const { server, keyPrefix, log, time } = wait;
  const { marginMs, retryEveryMs, leaseMs } = wait.timing;
  let first: { at: number; pttl: number; value: string } | undefined;
  for (;;) {
    const sentAt = time();
    const answer = await wait.ask();
    if (answer.kind !== "held") return { kind: "free", sentAt, waited: first !== undefined };
    const now = time();
    const { holder, pttl } = answer;
    // Set by hand without an expiry: it never runs out.
    if (pttl < 0) return { kind: "refused", holder };
    if (first === undefined) {
      first = { at: now, pttl, value: holder.value };
      log.warning(
        "OpenVPN server name {server} is claimed in Redis (sessions.key_prefix {prefix}) by " +
          "{holder}: waiting up to {seconds} s for the claim to run out, as it does when " +
          "that bridge was killed or crashed without releasing it; if it is alive it renews " +
          "the claim, and this bridge is refused",
        {
          server,
          prefix: keyPrefix,
          holder: describe(holder),
          seconds: Math.ceil((pttl + retryEveryMs) / 1000),
        },
      );
    } else {
      const elapsed = now - first.at;
      const renewed = pttl > first.pttl - elapsed + marginMs;
      // The last test only bounds the wait: Redis has deleted an unrenewed claim by then.
      if (holder.value !== first.value || renewed || elapsed > first.pttl + leaseMs) {
        return { kind: "refused", holder };
      }
    }
    await wait.sleep(Math.min(retryEveryMs, pttl + 1));
  }
}

/** Throws ServerNameInUseError naming the names `refused` lists and their holders, if any. */
function refuseIfHeld(
  refused: ReadonlyArray<{ server: string; holder: Holder }>,
  keyPrefix: string,
): void {
  if (refused.length === 0) return;
  const holders = [...new Set(refused.map(({ holder }) => describe(holder)))];
  throw new ServerNameInUseError(refused.map(({ server }) => server), holders, keyPrefix);
}

/** As for claiming: `claimMs` is the claims' time, as the bridges claiming them use it. */
export type RefuseClaimedNamesDeps = ServerNameClaimsDeps;

/**
 * What a `[cluster]` instance checks at start: throws ServerNameInUseError when a live bridge
 * outside the cluster, sharing its Redis, claims one of `servers`, after waiting for claims a
 * dead bridge left to run out, exactly as that bridge's second would be checked. It claims
 * nothing: a cluster's names are held by its leases, which no bridge may claim (CLAIM) and
 * which are not taken while claimed (ACQUIRE), so a bridge started later is kept off the same
 * way at runtime.
 */
export async function refuseClaimedNames(deps: RefuseClaimedNamesDeps): Promise<void> {
  const { redis, keyPrefix, clock, log } = deps;
  const timing = leaseTiming(deps.claimMs ?? DEFAULT_LEASE_MS);
  const time = leaseTime(clock);
  const refused = await Promise.all(deps.servers.map(async (server) => {
    const result = await waitForName({
      server,
      keyPrefix,
      timing,
      time,
      log,
      sleep: (ms) => sleep(clock, ms),
      ask: async () => readAnswer(await redis.eval(LOOK, 1, serverNameClaimKey(keyPrefix, server))),
    });
    if (result.kind === "refused") return [{ server, holder: result.holder }];
    if (result.waited) {
      log.info("OpenVPN server name {server} is free: the old claim ran out", { server });
    }
    return [];
  }));
  refuseIfHeld(refused.flat(), keyPrefix);
}

function readAnswer(reply: unknown): Answer {
  const [kind, value, pttl] = Array.isArray(reply) ? reply : [];
  if (kind === "renewed" || kind === "taken" || kind === "free") return { kind };
  if (
    (kind === "bridge" || kind === "cluster") && typeof value === "string" &&
    typeof pttl === "number"
  ) {
    return { kind: "held", holder: { value, cluster: kind === "cluster" }, pttl };
  }
  throw new Error(`Unexpected answer to a server name claim: ${printable(JSON.stringify(reply))}`);
}

/** The holder of a claim (its key's value) as an operator can find it: see `describe`. */
export function describeClaimHolder(value: string): string {
  return describe({ value, cluster: false });
}

/** The holder as an operator can find it: a bridge's host and pid, or a cluster instance. */
function describe(holder: Holder): string {
  if (holder.cluster) {
    // "<instance>#<fencing token>" (cluster/redis_scripts.ts).
    return `cluster instance ${printable(holder.value.replace(/#\d+$/, ""))}`;
  }
  const bridge = /^([^/]+)\/(\d+)\/[\w-]+$/.exec(holder.value);
  return bridge
    ? `the bridge on host ${printable(bridge[1]!)}, pid ${bridge[2]}`
    : printable(JSON.stringify(holder.value));
}

export interface StartServerNameClaims {
  redis: RedisSettings;
  servers: readonly string[];
  clock: Clock;
  log: Logger;
  /** Default DEFAULT_LEASE_MS. */
  claimMs?: number;
}

export interface RunningServerNameClaims {
  /** The names this bridge holds now. */
  held(): string[];
  /** Releases the claims and closes their connection. */
  stop(): Promise<void>;
}

/**
 * Connects to Redis on a connection of its own and claims `servers` (ServerNameClaims.start):
 * what the daemon runs outside a cluster with `sessions.backend = "redis"`.
 */
export async function startServerNameClaims(
  deps: StartServerNameClaims,
): Promise<RunningServerNameClaims> {
  const redis = await connectRedisWithOwnOutageLines(deps.redis);
  const claims = new ServerNameClaims({
    redis,
    keyPrefix: deps.redis.keyPrefix,
    servers: deps.servers,
    clock: deps.clock,
    log: deps.log,
    ...(deps.claimMs === undefined ? {} : { claimMs: deps.claimMs }),
  });
  try {
    await claims.start();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return {
    held: () => claims.held(),
    async stop() {
      await claims.stop();
      redis.disconnect();
    },
  };
}
