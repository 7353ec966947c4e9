/**
 * What a server's link holds while it is down (ClientEvents): the answers to finished sign-ins
 * it did not write, by cid, until the link tells their sign-in's run again (HeldSignInAnswer);
 * and the bound on each list it holds (the kills and denies too). Nothing else would ever answer
 * those clients: OpenVPN keeps a pending client waiting across a management reconnect.
 */
import type { Logger } from "@logtape/logtape";
import type { HeldSignInAnswer } from "./admission_types.ts";

/**
 * Kills, denies, and answers to finished sign-ins, held for a link that is down, at most each
 * (the oldest dropped first).
 */
export const MAX_HELD_FOR_LINK = 10_000;

/** Appends to a list held for the link, dropping its oldest when it is full. */
export function holdBounded<T>(list: T[], item: T): void {
  if (list.length >= MAX_HELD_FOR_LINK) list.shift();
  list.push(item);
}

/**
 * The answers held for the link, one per cid: a newer sign-in's answer on a cid drops the one
 * held before it (that sign-in ended with it).
 */
export class HeldAnswers {
  readonly #byCid = new Map<number, HeldSignInAnswer>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Holds `answer`, which its holder checked still waits (ClientEvents.holdSignInAnswer). */
  hold(answer: HeldSignInAnswer): void {
    const { cid, signIn } = answer;
    const earlier = this.#byCid.get(cid);
    this.#byCid.delete(cid);
    if (earlier !== undefined && earlier.signIn.loginId !== signIn.loginId) {
      this.drop(earlier, "a newer sign-in began on its client id");
    }
    if (this.#byCid.size >= MAX_HELD_FOR_LINK) {
      const [oldestCid, oldest] = this.#byCid.entries().next().value!;
      this.#byCid.delete(oldestCid);
      this.drop(oldest, `more than ${MAX_HELD_FOR_LINK} answers held for the link`);
    }
    this.#byCid.set(cid, answer);
  }

  /**
   * Sends the held answers of `run`, the run the link told now; the rest are dropped: their
   * clients went with their run. The sign-in guard checks each again as it is written.
   */
  sendFor(run: string | undefined): void {
    if (this.#byCid.size === 0) return;
    const answers = [...this.#byCid.values()];
    this.#byCid.clear();
    for (const answer of answers) {
      if (answer.signIn.openvpnRun !== run) {
        this.drop(answer, "OpenVPN restarted meanwhile, and its client went with it");
        continue;
      }
      answer.send().catch((error) =>
        this.#log.warning("{command} for cid {cid} failed: {error}", {
          command: answer.command,
          cid: answer.cid,
          error: String(error),
        })
      );
    }
  }

  /**
   * The held answer on `cid`, taken out; only the one of sign-in `loginId` when given (the
   * sign-in that ended).
   */
  take(cid: number, loginId?: string): HeldSignInAnswer | undefined {
    const held = this.#byCid.get(cid);
    if (held === undefined || (loginId !== undefined && held.signIn.loginId !== loginId)) {
      return undefined;
    }
    this.#byCid.delete(cid);
    return held;
  }

  /**
   * Drops a held answer, without waiting: what it ends (a session, under its lock) is queued
   * now, before anything an event handled next does to the same session (a DISCONNECT would
   * only unbind a resumable one, left without a client).
   */
  drop(answer: HeldSignInAnswer, why: string, ending?: { timedOut: true }): void {
    answer.drop(why, ending).catch((error) =>
      this.#log.warning("Dropping the {command} held for cid {cid} failed: {error}", {
        command: answer.command,
        cid: answer.cid,
        error: String(error),
      })
    );
  }

  /** Forgets every answer held (the link stopped), unsent and not dropped; how many there were. */
  clear(): number {
    const count = this.#byCid.size;
    this.#byCid.clear();
    return count;
  }
}
