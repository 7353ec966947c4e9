/**
 * The lines of the refresh checks (a REAUTH's or reconnect's with `reauth_check = "refresh"`, the
 * periodic re-check's) while the IdP cannot be asked (a refused connection, a timeout, a 5xx):
 * one warning when such an outage begins, saying what `sessions.idp_unreachable` does to every
 * client checked until it answers again, and one line when the IdP answers a refresh again (or
 * the service stops), with how many sessions could not be re-checked meanwhile. A warning per
 * check made an outage of the IdP with a thousand clients renegotiating or re-checked a thousand
 * warnings, none of which said what they added up to. Each client keeps its own decision's line
 * (a REAUTH's denial, its admission on the stored session) and audit line.
 *
 * Only an answer of the IdP (a refresh granted or refused) ends an outage: a check that did not
 * ask it (a session without a refresh token) says nothing of it.
 *
 * An outage that begins within WARNING_INTERVAL_MS of the last one's warning (an IdP that
 * flaps) is told at debug: it cannot fill the log either. If it lasts, it is warned about at its
 * first check once that interval is up, with when it began and how many sessions it has met so
 * far (its end then at info, else at debug): an outage is told at most a minute late, or an IdP
 * down again within the minute of its last warning would go unwarned about for hours.
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { IDP_UNREACHABLE_HINT } from "./idp_unreachable_hint.ts";

/** `sessions.idp_unreachable`: what becomes of a client whose refresh check cannot ask the IdP. */
export type IdpUnreachableSetting = "deny" | "allow";

/** What each setting does to a client whose refresh check cannot ask the IdP (README agrees). */
const EFFECT: Record<IdpUnreachableSetting, string> = {
  deny: "each client checked is refused (a renegotiation, a reconnect) or disconnected (the " +
    "periodic re-check), and its session kept for its reconnect",
  allow: "each client checked is judged on what its session stored, and stays connected or is " +
    "let in unless the policy now refuses that",
};

/** What became of the clients of the sessions an outage kept from being re-checked. */
const OUTCOME: Record<IdpUnreachableSetting, string> = {
  deny: "their clients refused or disconnected, the sessions kept",
  allow: "their clients judged on their stored sessions",
};

interface Outage {
  setting: IdpUnreachableSetting;
  /** The sessions checked in vain, each once however often it was checked. */
  sessions: Set<string>;
  /** Whether it was warned about (its end is then told at info). */
  warned: boolean;
  /** When its first check failed (`now`), for a warning given late. */
  beganAt: number;
}

/** An outage's warning (`error`, `effect`, `hint`); `late`: what one given after it began adds. */
function cannotAsk(late = ""): string {
  return `Refresh checks cannot ask the identity provider ({error}${late}): until one reaches ` +
    "it again, {effect}; they are counted and told then; {hint}";
}

export class RefreshOutage {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #warning: WarningInterval;
  #outage: Outage | undefined;

  /** `now`: the wall clock in milliseconds (a late warning says when its outage began). */
  constructor(log: Logger, now: () => number) {
    this.#log = log;
    this.#now = now;
    this.#warning = new WarningInterval(WARNING_INTERVAL_MS, now);
  }

  /** The refresh check of `sessionId` could not ask the IdP (`error`), and `setting` decided. */
  unreachable(sessionId: string, error: string, setting: IdpUnreachableSetting): void {
    const begins = this.#outage === undefined;
    const outage = this.#outage ??= {
      setting,
      sessions: new Set(),
      warned: false,
      beganAt: this.#now(),
    };
    outage.sessions.add(sessionId);
    if (outage.warned) return;
    outage.warned = this.#warning.due() !== undefined;
    const properties = { error, effect: words(EFFECT[setting]), hint: words(IDP_UNREACHABLE_HINT) };
    if (begins) {
      this.#log[outage.warned ? "warning" : "debug"](cannotAsk(), properties);
    } else if (outage.warned) {
      this.#log.warning(
        cannotAsk("; since {began}, {sessions} session(s) so far"),
        {
          ...properties,
          began: new Date(outage.beganAt).toISOString(),
          sessions: outage.sessions.size,
        },
      );
    }
  }

  /** The IdP answered a refresh (granted or refused it): an outage under way has ended. */
  answered(): void {
    this.#end("Refresh checks reach the identity provider again");
  }

  /** The service stops: an outage under way is told as it stands. */
  stopped(): void {
    this.#end("Stopping while refresh checks cannot ask the identity provider");
  }

  #end(what: string): void {
    const outage = this.#outage;
    if (outage === undefined) return;
    this.#outage = undefined;
    this.#log[outage.warned ? "info" : "debug"](
      `${what}: {sessions} session(s) could not be re-checked meanwhile (${
        OUTCOME[outage.setting]
      })`,
      { sessions: outage.sessions.size, setting: outage.setting },
    );
  }
}
