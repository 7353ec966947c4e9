/**
 * The periodic re-check's lines while the IdP cannot be asked (a refused connection, a timeout,
 * a 5xx): one warning when such an outage begins, saying what `sessions.idp_unreachable` does to
 * every session re-checked until it answers again, and one line when a re-check reaches it again
 * (or the re-checks stop), with how many sessions it could not re-check. A line per session (a
 * warning each) made an outage of the IdP with a thousand clients a thousand warnings, none of
 * which said what they added up to. Each session's refusal keeps its audit line.
 *
 * An outage that begins within WARNING_INTERVAL_MS of the last one's warning (an IdP that
 * flaps) is told at debug, as its end is: it cannot fill the log either.
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { IDP_UNREACHABLE_HINT } from "./idp_unreachable_hint.ts";

/** A re-check that could not ask the IdP: its error, and what `idp_unreachable` made of it. */
export interface UnreachableAtRecheck {
  error: string;
  setting: "deny" | "allow";
}

/** What each setting does to a session whose re-check cannot ask the IdP (README agrees). */
const EFFECT: Record<UnreachableAtRecheck["setting"], string> = {
  deny: "the client of each session re-checked is disconnected and the session kept for its " +
    "reconnect",
  allow: "each session re-checked is judged on what it stored and its client stays connected",
};

interface Outage {
  setting: UnreachableAtRecheck["setting"];
  /** The sessions re-checked in vain, each once however many rounds it lasts. */
  sessions: Set<string>;
  /** Whether its beginning was warned about (its end is then told at info). */
  warned: boolean;
}

export class RecheckOutage {
  readonly #log: Logger;
  readonly #warning: WarningInterval;
  #outage: Outage | undefined;

  /** `now`: any clock in milliseconds (the monotonic one: the interval only). */
  constructor(log: Logger, now: () => number) {
    this.#log = log;
    this.#warning = new WarningInterval(WARNING_INTERVAL_MS, now);
  }

  /** The re-check of `sessionId` could not ask the IdP. */
  unreachable(sessionId: string, { error, setting }: UnreachableAtRecheck): void {
    const outage = this.#outage;
    if (outage !== undefined) {
      outage.sessions.add(sessionId);
      return;
    }
    const warned = this.#warning.due() !== undefined;
    this.#outage = { setting, sessions: new Set([sessionId]), warned };
    this.#log[warned ? "warning" : "debug"](
      "Periodic re-check cannot ask the identity provider ({error}): until a re-check reaches it " +
        "again, {effect}; they are counted and told then; {hint}",
      { error, effect: words(EFFECT[setting]), hint: words(IDP_UNREACHABLE_HINT) },
    );
  }

  /** A re-check had an answer from the IdP: an outage under way has ended. */
  reached(): void {
    this.#end("Periodic re-check reaches the identity provider again");
  }

  /** The re-checks stop (the service does): an outage under way is told as it stands. */
  stopped(): void {
    this.#end("Periodic re-check stopped while the identity provider could not be asked");
  }

  #end(what: string): void {
    const outage = this.#outage;
    if (outage === undefined) return;
    this.#outage = undefined;
    const sessions = outage.sessions.size;
    this.#log[outage.warned ? "info" : "debug"](
      `${what}: {sessions} session(s) could not be re-checked meanwhile (${
        outage.setting === "deny"
          ? "their clients disconnected, the sessions kept"
          : "their clients kept connected on their stored sessions"
      })`,
      { sessions, setting: outage.setting },
    );
  }
}
