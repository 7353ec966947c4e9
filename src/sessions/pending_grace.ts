/**
 * How long every store keeps a pending login past its deadline, and so what a sweep or a full
 * table may remove.
 */
import type { StoreTable } from "./types.ts";

/**
 * How long a pending login outlives its deadline: the deadline's own delete of it is what denies
 * the client with "Sign-in was not completed in time" (client_events.ts), and finding it gone
 * means a callback took it (or, where no callback here took it outside a cluster, that the store
 * lost it). That delete comes a little after the deadline (a timer, a busy event loop: on Deno a
 * put's batched write, an immediate, runs before a timer that fell due in the same busy turn),
 * and a sweep may come from a bridge whose clock runs seconds ahead (Redis): neither may take the
 * login away first. Reads, takes and updates treat it as gone from its
 * deadline on; it counts towards max_entries until a sweep, or a put into a full table, removes
 * it after the grace. A full table of logins all within it refuses a new one as full.
 */
export const PENDING_GRACE_MS = 60_000;

/**
 * The expiry before which a sweep, or a new entry into a full table, may remove entries of
 * `table`: a session once it expired, a pending login once its grace is over too.
 */
export function removableBefore(table: StoreTable, now: number): number {
  return table === "pending" ? now - PENDING_GRACE_MS : now;
}
