/**
 * Clients OpenVPN never told the bridge of. While no management client is connected, OpenVPN
 * drops the `>CLIENT:CONNECT` of each client that connects (it queues output only for a connected
 * one), and that client waits unanswered until `hand-window` refuses it, which drops its token
 * (some then end at the browser). At link-up `status 3` still lists it: a row with no virtual
 * address. ServerLink restarts each such client it knows nothing of (`client-kill`, RESTART):
 * it reconnects at once with its token, and this time the bridge hears it.
 */
import type { ClientList } from "../management/client_list.ts";

/**
 * A row younger than this (by OpenVPN's own clock) may be a client whose CONNECT is on its way:
 * it is judged again when it is this old, and restarted then only if nothing was heard of it.
 */
export const UNHEARD_MIN_AGE_SEC = 3;

export interface UnheardClients {
  /** Old enough: restart now. */
  now: number[];
  /** Too young to tell (or of unknown age): judge again UNHEARD_MIN_AGE_SEC after the list. */
  later: number[];
  /** Whether there is any, now or later. */
  any: boolean;
}

/**
 * The rows of `list` with no virtual address whose cid `known` does not know (a CONNECT heard,
 * a sign-in the bridge holds), split by age.
 */
export function unheardClients(list: ClientList, known: (cid: number) => boolean): UnheardClients {
  const now: number[] = [];
  const later: number[] = [];
  for (const { cid, unaddressed, connectedSince } of list.rows) {
    if (!unaddressed || known(cid)) continue;
    const old = list.time !== undefined && connectedSince !== undefined &&
      list.time - connectedSince >= UNHEARD_MIN_AGE_SEC;
    (old ? now : later).push(cid);
  }
  return { now, later, any: now.length > 0 || later.length > 0 };
}
