/**
 * Keeps (or waits for) the lease on one OpenVPN server in Redis: acquires it when free,
 * renews it well before it runs out, gives it up on its own clock when renewals do not get
 * through, gives it up when told to (`yieldFor`), and releases it on a clean stop. Decisions are
 * in lease.ts; this is the I/O. A lease is not acquired while a bridge outside the cluster
 * claims the server's name (server_name_claims.ts): asked for all the same, it is taken once
 * that bridge stops.
 */
import type { Logger } from "@logtape/logtape";
import type { Redis } from "ioredis";
import type { Clock, TimerHandle } from "../clock.ts";
import { type Lease, type LeaseChange } from "./lease.ts";
import { ACQUIRE, RELEASE, RENEW } from "./redis_scripts.ts";
import { describeClaimHolder, serverNameClaimKey } from "./server_name_claims.ts";
import type { ClusterKeys } from "./work_queue.ts";

export interface LeaseKeeperDeps {
  redis: Redis;
  keys: ClusterKeys;
  server: string;
  instanceId: string;
  lease: Lease;
  clock: Clock;
  /** The time the lease runs on (lease_time.ts), shared with the write fence. */
  leaseTime: () => number;
  log: Logger;
  /** Told when the lease is acquired or lost; runs the link. */
  onChange: (change: Exclude<LeaseChange, "none">, token: number | undefined) => void;
}

export class LeaseKeeper {
  readonly #deps: LeaseKeeperDeps;
  #timer: TimerHandle | undefined;
  #deadline: TimerHandle | undefined;
  #stopped = false;
  #failing = false;
  /** Not asking for the lease before this (`leaseTime()`): see `yieldFor`. */
  #pausedUntil = 0;
  /** The claim of a bridge outside the cluster that kept the lease from us, as last logged. */
  #claimedBy: string | undefined;

  constructor(deps: LeaseKeeperDeps) {
    this.#deps = deps;
  }

  start(): void {
    void this.#tick();
  }

  /** Stops renewing and, when holding, releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const { clock, lease, redis, keys, server } = this.#deps;
    clock.clearTimeout(this.#timer);
    clock.clearTimeout(this.#deadline);
    const token = lease.token;
    if (token === undefined) return;
    this.#change(lease.lost(), token);
    await redis.eval(RELEASE, 1, keys.lease(server), this.#holderValue(token)).catch(() => {});
  }

  /**
   * Gives the lease up now (deleting the key if it is still ours) and does not ask for it again
   * for `pauseMs`, so that another instance takes it first.
   */
  yieldFor(pauseMs: number): void {
    const { clock, lease, leaseTime } = this.#deps;
    const token = lease.token;
    if (token === undefined || this.#stopped) return;
    this.#pausedUntil = leaseTime() + pauseMs;
    clock.clearTimeout(this.#deadline);
    this.#change(lease.lost(), token);
  }

  async #tick(): Promise<void> {
    const { clock, lease, leaseTime, redis, keys, server, instanceId, log } = this.#deps;
    this.#change(lease.check(leaseTime()), lease.token);
    const sentAt = leaseTime();
    const held = lease.token;
    try {
      // Yielded a moment ago: asked again at a later tick (a standby's retry interval).
      const paused = sentAt < this.#pausedUntil;
      if (held === undefined && !paused) {
        const token = await redis.eval(
          ACQUIRE,
          3,
          keys.lease(server),
          keys.fence(server),
          serverNameClaimKey(keys.keyPrefix, server),
          instanceId,
          String(lease.timing.leaseMs),
        );
        this.#nameClaimedBy(typeof token === "string" ? token : undefined);
        if (this.#stopped) {
          if (typeof token === "number") {
            await redis.eval(RELEASE, 1, keys.lease(server), this.#holderValue(token));
          }
          return;
        }
        if (typeof token === "number") this.#change(lease.acquired(token, sentAt), token);
      } else if (held !== undefined) {
        const renewed = await redis.eval(
          RENEW,
          1,
          keys.lease(server),
          this.#holderValue(held),
          String(lease.timing.leaseMs),
        );
        if (renewed === 1) lease.renewed(held, sentAt);
        else if (lease.token === held) {
          // (Not when given up meanwhile by yieldFor: its own release is why the key is gone.)
          log.warning("Lease on OpenVPN server {server} was taken over by another instance", {
            server,
          });
          this.#change(lease.lost(), held);
        }
      }
      if (this.#failing) log.info("Lease store reachable again for {server}", { server });
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        log.warning("Lease on {server}: Redis did not answer: {error}", {
          server,
          error: String(error),
        });
      }
      this.#failing = true;
    }
    if (this.#stopped) return;
    this.#timer = clock.setTimeout(() => void this.#tick(), lease.nextDelay());
    this.#armDeadline();
  }

  /**
   * A bridge outside the cluster claims the server's name (`holder`, its claim), or none does:
   * told once per holder, not at each request for the lease.
   */
  #nameClaimedBy(holder: string | undefined): void {
    if (holder === this.#claimedBy) return;
    const { log, server, keys } = this.#deps;
    if (holder !== undefined) {
      log.error(
        "OpenVPN server name {server} is claimed by {holder}, a bridge sharing this Redis " +
          "(sessions.key_prefix {prefix}) outside this cluster: the two would end, unbind and " +
          "kill each other's clients, so no instance takes the lease on {server} while that " +
          "claim is held. Give each bridge's [[openvpn]] servers names of their own, or run " +
          "them in this [cluster]; the lease is taken once that bridge stops",
        { server, holder: describeClaimHolder(holder), prefix: keys.keyPrefix },
      );
    } else if (this.#claimedBy !== undefined) {
      log.info("OpenVPN server name {server} is no longer claimed outside this cluster", {
        server,
      });
    }
    this.#claimedBy = holder;
  }

  /** What the lease key holds while this instance has it with `token` (redis_scripts.ts). */
  #holderValue(token: number): string {
    return `${this.#deps.instanceId}#${token}`;
  }

  /** Gives the lease up at its deadline even if a renewal is stuck. */
  #armDeadline(): void {
    const { clock, lease, leaseTime } = this.#deps;
    clock.clearTimeout(this.#deadline);
    const state = lease.state;
    if (state.kind !== "holding") return;
    this.#deadline = clock.setTimeout(
      () => this.#change(lease.check(leaseTime()), state.token),
      Math.max(0, state.validUntil - leaseTime()),
    );
  }

  #change(change: LeaseChange, token: number | undefined): void {
    if (change === "none") return;
    const { log, server, instanceId } = this.#deps;
    if (change === "acquired") {
      // Not named "token": the log masks values under that name.
      log.info("{instance} holds the lease on OpenVPN server {server} (fence {fence})", {
        instance: instanceId,
        server,
        fence: token,
      });
    } else {
      log.warning("{instance} no longer holds the lease on OpenVPN server {server}", {
        instance: instanceId,
        server,
      });
      // Given up by our own clock (renewals unanswered): Redis may still hold our key, and keep
      // it a whole lease with nobody acting on it. Deleted if it is still ours (compare-and-
      // delete), so that a standby takes over at once; stop() releases on its own.
      if (token !== undefined && !this.#stopped) {
        const { redis, keys } = this.#deps;
        void redis.eval(RELEASE, 1, keys.lease(server), this.#holderValue(token)).catch(() => {});
      }
    }
    this.#deps.onChange(change, token);
  }
}
