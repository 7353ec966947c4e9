/**
 * One OpenVPN server's management link in a cluster: this instance connects only while it
 * holds the server's lease, and every write is fenced by that lease. While holding, it also
 * carries out the work other instances queued for the server. A holder that cannot get its link
 * up gives the lease up for a moment (`LeaseTiming.yieldAfterMs`): this host may be cut off from
 * OpenVPN while another instance is not; when none can connect, the instances take turns.
 */
import type { Logger } from "@logtape/logtape";
import type { Redis } from "ioredis";
import type { ClientCommander } from "../bridge/commander.ts";
import type { ClientEvents, HeldKill } from "../bridge/client_events.ts";
import { SIGN_IN_TIMED_OUT } from "../bridge/denial.ts";
import { haltsClient } from "../bridge/refusal.ts";
import type { ServerLink } from "../bridge/server_link.ts";
import type { SignIn } from "../bridge/sign_ins.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { deliveryWaitMs, Lease, type LeaseTiming } from "./lease.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { leaseTime } from "./lease_time.ts";
import { WorkRunner } from "./work_runner.ts";
import type { WorkOp } from "./work_item.ts";
import type { ClusterKeys, WorkQueue } from "./work_queue.ts";

/** What the daemon builds for a holding period: a fresh connection, its events and link. */
export interface HeldLink {
  link: ServerLink;
  events: ClientEvents;
  /** The commander over this link (the runner carries queued work out with it). */
  commander: ClientCommander;
}

export interface LeasedLinkDeps {
  server: string;
  instanceId: string;
  redis: Redis;
  keys: ClusterKeys;
  queue: WorkQueue;
  timing: LeaseTiming;
  clock: Clock;
  log: Logger;
  /** Work notifications (pub/sub) are arriving now. */
  notified: () => boolean;
  /** Builds the link for one holding period; `mayWrite` is the fence for every write. */
  build: (mayWrite: () => boolean) => HeldLink;
}

const STOP_GRACE_MS = 500;

/** A sign-in's deny held for the link (ClientEvents), with the OpenVPN run it is for. */
type HeldDeny = {
  signIn: Pick<SignIn, "id" | "cid" | "kid" | "commonName" | "clientIp">;
  run: string;
};

/** What a holding period's events (ClientEvents) hand on when the period ends. */
interface HandedOn {
  takeHeldKills(): ReadonlyArray<HeldKill>;
  takeHeldDenies(): ReadonlyArray<HeldDeny>;
}

export class LeasedLink {
  readonly #deps: LeasedLinkDeps;
  readonly #lease: Lease;
  /** What the lease and its write fence are timed on (lease_time.ts). */
  readonly #leaseTime: () => number;
  readonly #keeper: LeaseKeeper;
  #held: { token: number; link: HeldLink; runner: WorkRunner } | undefined;
  /** The next look at the held link (`#watchLink`). */
  #watch: TimerHandle | undefined;

  constructor(deps: LeasedLinkDeps) {
    this.#deps = deps;
    this.#lease = new Lease(deps.timing);
    this.#leaseTime = leaseTime(deps.clock);
    this.#keeper = new LeaseKeeper({
      redis: deps.redis,
      keys: deps.keys,
      server: deps.server,
      instanceId: deps.instanceId,
      lease: this.#lease,
      clock: deps.clock,
      leaseTime: this.#leaseTime,
      log: deps.log,
      onChange: (change, token) => {
        if (change === "acquired") void this.#hold(token!);
        else void this.#letGo();
      },
    });
  }

  start(): void {
    this.#keeper.start();
  }

  /**
   * Holding by this instance's clock: not after the lease's deadline, even before the timer
   * that gives it up has fired (a host waking from a pause runs its overdue work first). What
   * acts on a server's sessions only while holding (re-checks) must not run past the lease.
   */
  get holding(): boolean {
    return this.#lease.mayWrite(this.#leaseTime());
  }

  get linkUp(): boolean {
    return this.#held?.link.link.linkUp ?? false;
  }

  /** Clients whose tunnel is up on the server; undefined unless the link is held here and knows. */
  get tunnels(): number | undefined {
    return this.#held?.link.link.tunnels;
  }

  /** The commander of the link held here, once it is connected; undefined otherwise. */
  heldCommander(): ClientCommander | undefined {
    const held = this.#held;
    return held !== undefined && held.link.link.linkUp ? held.link.commander : undefined;
  }

  /** Work was queued for this server. */
  wake(): void {
    this.#held?.runner.wake();
  }

  async stop(): Promise<void> {
    await this.#letGo();
    await this.#keeper.stop();
  }

  async #hold(token: number): Promise<void> {
    const { clock, log, server } = this.#deps;
    await this.#letGo();
    // Fenced by this holding period's token, not only by the lease: a link still in its stop
    // grace after a loss must not write again once the lease is taken anew (another token).
    const link = this.#deps.build(() =>
      this.#lease.token === token && this.#lease.mayWrite(this.#leaseTime())
    );
    const runner = new WorkRunner({
      queue: this.#deps.queue,
      server,
      token,
      commander: link.commander,
      clock,
      log,
      notified: this.#deps.notified,
      // Polling only catches a lost notification then: once a renewal period is soon enough.
      notifiedPollMs: this.#deps.timing.renewEveryMs,
      // Down: sent when the link is up in the client's run (or, not known, the one it was last
      // up in). Up already, it may have told a new run (OpenVPN restarted in the outage, the
      // client gone, its cid free for a stranger): sent now only when the client's run is known,
      // through the guard that refuses it in another run; else dropped.
      deferKill: (cid, run, message) => {
        if (!link.link.linkUp) link.events.killWhenLinked(cid, message, run);
        else if (run !== undefined) {
          link.commander.kill(cid, message, run).catch((error) =>
            log.info("Kill of cid {cid} on {server} left: {error}", {
              cid,
              server,
              error: String(error),
            })
          );
        }
      },
      signInTimedOut: (client) => link.events.signInTimedOut(client),
    });
    this.#held = { token, link, runner };
    await link.events.adoptPendingLogins();
    if (this.#held?.token !== token) return;
    // Work that found the link still connecting is carried out as soon as it is up, not at
    // the runner's next poll: a sign-in waiting through a takeover has only seconds left.
    link.link.onLinkUp(() => runner.wake());
    link.link.start();
    runner.start();
    this.#watchLink(token);
  }

  /** Gives the lease up once this holding period's link has not been up for `yieldAfterMs`. */
  #watchLink(token: number): void {
    const { clock, timing, log, server } = this.#deps;
    let lastUp = this.#leaseTime();
    const look = () => {
      const held = this.#held;
      if (held?.token !== token) return;
      const now = this.#leaseTime();
      if (held.link.link.linkUp) lastUp = now;
      else if (now - lastUp >= timing.yieldAfterMs) {
        log.warning(
          "No management connection to OpenVPN server {server} for {seconds} s while holding " +
            "its lease: giving the lease up for {pause} s so that another instance can try",
          {
            server,
            seconds: Math.round((now - lastUp) / 1000),
            pause: timing.yieldPauseMs / 1000,
          },
        );
        this.#keeper.yieldFor(timing.yieldPauseMs);
        return;
      }
      this.#watch = clock.setTimeout(look, timing.retryEveryMs, { keepAlive: false });
    };
    this.#watch = clock.setTimeout(look, timing.retryEveryMs, { keepAlive: false });
  }

  async #letGo(): Promise<void> {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    this.#deps.clock.clearTimeout(this.#watch);
    held.runner.stop();
    await held.link.link.stop(STOP_GRACE_MS);
    const events: HandedOn = held.link.events;
    await Promise.all([
      this.#requeueKills(events.takeHeldKills()),
      this.#requeueDenies(events.takeHeldDenies()),
    ]);
  }

  /**
   * Kills a holding period kept for its link's return (deferKill) when the period ends first (the
   * link down too long, the lease lost, a stop): its sessions are deleted already, and the next
   * holder's link-up kills no client without one, so dropped here a revoked user stayed
   * connected until the next REAUTH (never, with reneg-sec 0). Queued again for whoever holds
   * the link next, with a fresh deadline and the run their client was seen in: the guard
   * (sign_in_guard.ts) sends none in another run. Redis out of reach: the admin is told.
   */
  async #requeueKills(kills: ReadonlyArray<HeldKill>): Promise<void> {
    const { lost, why } = await this.#queueForNextHolder(
      kills.map(({ cid, run, message }) => ({ op: "kill", cid, message, openvpnRun: run })),
    );
    if (lost.length === 0) return;
    this.#deps.log.error(
      "Could not queue the kills of cid(s) {cids} on {server} for the next holder of its link " +
        "(their sessions ended while the link was down): those clients stay connected until " +
        "their next REAUTH: disconnect them on OpenVPN (client-kill on its management interface; " +
        "their sessions are gone, so a revoke finds nothing to end): {error}",
      { cids: lost.join(", "), server: this.#deps.server, error: why },
    );
  }

  /**
   * Denies of sign-ins whose deadline passed while the link was down, held for its return
   * (ClientEvents), when the holding period ends first: their pending logins are deleted
   * already, so the next holder adopts nothing to deny, and dropped here their clients got
   * OpenVPN's bare timeout instead of the reason. Queued again as the kills are, each with its
   * sign-in and run: the guard (sign_in_guard.ts) sends none in another run (a restarted
   * OpenVPN's new client on the cid) or after a newer sign-in on the cid, and OpenVPN refuses
   * one its own timeout has already ended (harmless). Logged, counted and audited by the holder
   * that writes it (`timedOut`, work_runner.ts), as the holder that held it never wrote it.
   */
  async #requeueDenies(denies: ReadonlyArray<HeldDeny>): Promise<void> {
    const { lost, why } = await this.#queueForNextHolder(
      denies.map(({ signIn: { id, cid, kid, commonName, clientIp }, run }) => ({
        op: "deny",
        cid,
        kid,
        reason: SIGN_IN_TIMED_OUT.logReason,
        clientReason: SIGN_IN_TIMED_OUT.reason,
        signIn: { loginId: id, openvpnRun: run },
        timedOut: { commonName, clientIp },
        ...(haltsClient(SIGN_IN_TIMED_OUT, true) ? { halt: true as const } : {}),
      })),
    );
    if (lost.length === 0) return;
    this.#deps.log.warning(
      "Could not queue the denies of cid(s) {cids} on {server} for the next holder of its link " +
        "(their sign-ins timed out while the link was down): those clients get OpenVPN's " +
        "timeout, without the reason: {error}",
      { cids: lost.join(", "), server: this.#deps.server, error: why },
    );
  }

  /**
   * Queues each op for whoever holds the link next, with a fresh deadline; resolves the cids of
   * those Redis did not take (sorted), and the last error.
   */
  async #queueForNextHolder(ops: readonly WorkOp[]): Promise<{ lost: number[]; why: string }> {
    const { queue, server, timing } = this.#deps;
    const waitMs = deliveryWaitMs(timing);
    const lost: number[] = [];
    let why = "";
    await Promise.all(
      ops.map((op) =>
        queue.enqueue(server, op, waitMs).catch((error) => {
          lost.push(op.cid);
          why = String(error);
        })
      ),
    );
    return { lost: lost.sort((a, b) => a - b), why };
  }
}
