/**
 * The holder's side of cross-instance work for one server: woken by a notification (and on a
 * timer, in case one was missed: slow while notifications arrive, fast while they cannot or while
 * an item waits for the link), it takes running and waiting items, carries out each
 * on its own fenced link and records the outcome under its fencing token. Items an earlier
 * holder left running are seen again here; one with an outcome already is only cleared.
 */
import type { Logger } from "@logtape/logtape";
import { type ClientCommander, notWritten } from "../bridge/commander.ts";
import type { TimedOutClient } from "../bridge/client_events.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { ManagementCommandError, ManagementConnectionError } from "../management/errors.ts";
import { execute, workDecision, type WorkOp, type WorkOutcome } from "./work_item.ts";
import type { TakenWork, WorkQueue } from "./work_queue.ts";

const BATCH = 64;
/** How often to look for work while notifications are down: every wake-up is a poll then. */
export const UNNOTIFIED_POLL_MS = 500;

export interface WorkRunnerDeps {
  queue: Pick<WorkQueue, "take" | "record">;
  server: string;
  token: number;
  commander: ClientCommander;
  clock: Clock;
  log: Logger;
  /** Pub/sub is subscribed and connected now, so a poll only catches a lost notification. */
  notified: () => boolean;
  /** How often to poll while notified. */
  notifiedPollMs: number;
  /**
   * A kill to `cid` that expired waiting for the link: sent, with its `message`, once this
   * holder's link is in the OpenVPN run its client was seen in (`run`, from the requester), or
   * else the run the link was last up in (ClientEvents.killWhenLinked of this holding period's
   * link).
   */
  deferKill?: (cid: number, run: string | undefined, message: string) => void;
  /**
   * A sign-in's timeout deny an earlier holding period held and never wrote was written here
   * (OwedTimeout, work_item.ts): logged, counted and audited as on a single bridge
   * (ClientEvents.signInTimedOut of this holding period's link).
   */
  signInTimedOut?: (client: TimedOutClient) => void;
}

export class WorkRunner {
  readonly #deps: WorkRunnerDeps;
  /** Keys being carried out by this instance now: a drain must not start them twice. */
  readonly #busy = new Set<string>();
  #timer: TimerHandle | undefined;
  #draining = false;
  #again = false;
  #stopped = false;
  /** Work was left for a retry (the link down or still connecting): poll fast until it is done. */
  #retry = false;

  constructor(deps: WorkRunnerDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.wake();
  }

  stop(): void {
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#timer);
  }

  /** Something was queued: drain now (coalesced with a drain already running). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    void this.#drain().finally(() => {
      this.#draining = false;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.wake();
        return;
      }
      const { notified, notifiedPollMs } = this.#deps;
      this.#arm(notified() && !this.#retry ? notifiedPollMs : UNNOTIFIED_POLL_MS);
    });
  }

  #arm(pollMs: number): void {
    const { clock } = this.#deps;
    clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => this.wake(), pollMs, { keepAlive: false });
  }

  /**
   * An item is waiting for the link (right after a takeover it is still connecting): no
   * notification will come for it, and its requester waits only a few seconds, so try again at
   * the fast interval rather than a renewal period later.
   */
  #retrySoon(): void {
    this.#retry = true;
    if (!this.#stopped && !this.#draining) this.#arm(UNNOTIFIED_POLL_MS);
  }

  async #drain(): Promise<void> {
    const { queue, server, log } = this.#deps;
    this.#retry = false;
    let taken: TakenWork[];
    try {
      taken = await queue.take(server, BATCH);
    } catch (error) {
      log.warning("Could not read work for {server}: {error}", { server, error: String(error) });
      return;
    }
    for (const work of taken) {
      if (this.#busy.has(work.key)) continue;
      this.#busy.add(work.key);
      void this.#run(work).finally(() => this.#busy.delete(work.key));
    }
  }

  async #run({ key, item, recorded, msLeft }: TakenWork): Promise<void> {
    const { queue, server, token, commander, log } = this.#deps;
    let outcome: WorkOutcome;
    const decision = item === undefined ? "expire" : workDecision(recorded, msLeft);
    if (decision === "done") outcome = recorded!;
    else if (decision === "expire") {
      outcome = { kind: "expired" };
      // The session behind a kill is deleted already: dropped here, nothing would kill the client
      // when the link is back, and a revoked user stays connected until the next REAUTH (never,
      // with reneg-sec 0). So it is sent when this holder's link is back in the same OpenVPN run,
      // as on a single bridge (or queued again for the next holder if this one lets the link go
      // first: leased_link.ts); still recorded expired, as its requester reported the client still
      // connected. The item names that run when the requester knew it (the session's), so a
      // kill left to the next holder after a takeover is sent too; without it, a holder that
      // never had the link up in this holding period knows no run to tie the cid to, and
      // killWhenLinked drops it (a cid from another run may name a stranger). Answers to a
      // sign-in are never deferred: a late client-auth or refusal must not be sent.
      if (item?.op === "kill") this.#deps.deferKill?.(item.cid, item.openvpnRun, item.message);
    } else {
      try {
        await execute(commander, item!);
        outcome = { kind: "ok" };
      } catch (error) {
        if (notWritten(error)) {
          // Link down or fenced: left running for this holder's next drain or the next holder.
          // Right after a takeover the link is still connecting: that is expected.
          const connecting = error instanceof ManagementConnectionError &&
            error.code === "not-connected";
          log[connecting ? "debug" : "warning"](
            "Work {key} for {server} not carried out yet: {error}",
            {
              key,
              server,
              error: String(error),
            },
          );
          this.#retrySoon();
          return;
        }
        if (error instanceof ManagementCommandError) {
          outcome = { kind: "refused", message: error.message };
        } else if (error instanceof ManagementConnectionError) {
          // Written, no answer: not sent again. OpenVPN may have run it, and it runs a command
          // for a key again (held_first_commander.ts), so a repeat is not harmless.
          log.warning("Work {key} for {server} not confirmed by OpenVPN: {error}", {
            key,
            server,
            error: String(error),
          });
          outcome = { kind: "unknown" };
        } else {
          // Not a command OpenVPN can take (bad arguments): it never will be.
          outcome = { kind: "refused", message: String(error) };
        }
      }
      this.#recordOwedTimeout(item!, outcome);
    }
    try {
      const done = await queue.record(server, token, key, outcome);
      if (!done) {
        log.warning("Outcome of work {key} for {server} ignored: the lease has a newer holder", {
          key,
          server,
        });
      }
    } catch (error) {
      log.warning("Could not record work {key} for {server}: {error}", {
        key,
        server,
        error: String(error),
      });
    }
  }

  /**
   * A timeout deny whose record is owed (OwedTimeout) is recorded once it was written: answered,
   * or written with no answer (OpenVPN may have carried it out, and it is not sent again), as a
   * single bridge records one. Not when it was not written (the guard refused it: another run,
   * or a newer sign-in on the cid) or OpenVPN refused it (the client gone): nobody was denied.
   * Only the holder that carried it out records it: an item taken again with its outcome
   * recorded is only cleared ("done").
   */
  #recordOwedTimeout(item: WorkOp, outcome: WorkOutcome): void {
    if (item.op !== "deny" || item.timedOut === undefined || outcome.kind === "refused") return;
    this.#deps.signInTimedOut?.({ cid: item.cid, ...item.timedOut });
  }
}
