/**
 * Which bindings a DISCONNECT may end (client_events.ts). Its handling can wait seconds for the
 * store or for a session's lock (held across a refresh at the IdP), and OpenVPN may restart in
 * place meanwhile (SIGHUP: the link stays up, cids start from 0 again): a client of the new
 * run that reconnects with its token then gets the departed client's cid, and its session is
 * bound to it. That binding must outlive the DISCONNECT; every one made before must not.
 *
 * Times cannot tell them apart: a binding is stamped with the wall clock in milliseconds
 * (Session.lastAuthAt), which two events share, and which NTP steps back. The runs can: within
 * one run of OpenVPN a cid names one client, so only an event of a run that began after the
 * DISCONNECT can bind its cid to someone else. Each DISCONNECT keeps the run it came in, which
 * links to the runs told after it.
 */
import type { Session } from "../sessions/types.ts";
import type { Departure } from "./disconnect_retries.ts";
import { isKnownRun } from "../management/openvpn_run.ts";

/**
 * One run of OpenVPN as the link told it (SignIns.run: a run OpenVPN did not tell is one of its
 * own), linked to the one told after it. Only the part of the chain that a DISCONNECT still
 * being handled holds from is kept: the link holds just the last.
 */
export class RunTold {
  readonly run: string | undefined;
  #next: RunTold | undefined;

  constructor(run: string | undefined) {
    this.run = run;
  }

  /** The link told another run: it is linked after this one, and returned. */
  followedBy(run: string | undefined): RunTold {
    const next = new RunTold(run);
    this.#next = next;
    return next;
  }

  /** Whether the link told, after this one, a run that `matches`. */
  toldSince(matches: (run: string | undefined) => boolean): boolean {
    for (let told = this.#next; told !== undefined; told = told.#next) {
      if (matches(told.run)) return true;
    }
    return false;
  }
}

/** A DISCONNECT, with the run it came in. */
export interface RunDeparture extends Departure {
  run: RunTold;
}

/**
 * Whether the binding a session has to the departed client's cid was made by an event that
 * came before the DISCONNECT (it is ended), not after (left alone). Every event records the
 * run it came in with the binding it makes, when OpenVPN told that run (Session.openvpnRun).
 *
 * - A binding recorded with its run: made after the DISCONNECT exactly when that run was told
 *   after it. One of the DISCONNECT's own run is the departed client's (or older), even when
 *   written after the DISCONNECT came, by an event that came before it.
 * - A binding without one, while every run told since the DISCONNECT was one OpenVPN told (or
 *   none was): made before it (by an older version, or in an earlier run).
 * - Else (a run OpenVPN did not tell began since): the wall clock is all that is left. One
 *   stamped in the DISCONNECT's millisecond is left alone: it may be a live client's, and a
 *   stale one ends at the next check of the client list or when it expires.
 */
export function boundBefore(
  departure: RunDeparture,
  binding: Pick<Session, "openvpnRun" | "lastAuthAt">,
): boolean {
  const { run } = departure;
  const bindingRun = binding.openvpnRun;
  if (bindingRun !== undefined) return !run.toldSince((told) => told === bindingRun);
  if (!run.toldSince((told) => !isKnownRun(told))) return true;
  return binding.lastAuthAt < departure.at;
}
