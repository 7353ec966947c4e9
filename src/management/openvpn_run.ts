/**
 * Which run of OpenVPN a client id belongs to. OpenVPN numbers its clients from 0 again at
 * every start, and at every restart inside its process (SIGHUP, SIGUSR1), which keeps the
 * management connection open. Measured with 2.6.14 (tests/support/restart_in_place.ts has the
 * transcript): on SIGHUP or SIGUSR1 the management client first gets a `>CLIENT:DISCONNECT`
 * (with its ENV) for each client, then `>STATE:{time},RECONNECTING,SIGHUP,...` (or `SIGUSR1`;
 * with `state on`), ASSIGN_IP and CONNECTED, and the clients that reconnect are
 * `>CLIENT:CONNECT,0,1`, `>CLIENT:CONNECT,1,1`, ... again, in the order they come back (after
 * SIGUSR1 two clients had each other's cid). So a cid and key id name a client only together
 * with the run: the process (`pid`) and the time and name of OpenVPN's latest state, which
 * every start and restart changes.
 */
import type { Reply } from "./events.ts";

/** The time and name of a state (`{time},{name},...`, as `state` and `>STATE:` give it). */
export interface OpenvpnState {
  time: number;
  state: string;
}

/** The longest run text: a pid, a time and a state name, bounded like any input. */
export const MAX_OPENVPN_RUN_CHARS = 80;

export function openvpnRun(pid: number, state: OpenvpnState): string {
  return `${pid}@${state.time}:${state.state}`;
}

const UNKNOWN_RUN = "unknown:";

/**
 * A run of its own for a link on which OpenVPN did not tell its run: it matches no earlier
 * one, so what began before (a sign-in) is not taken for this run's.
 */
export function unknownRun(): string {
  return `${UNKNOWN_RUN}${crypto.randomUUID()}`;
}

/**
 * Whether `run` is one OpenVPN told (not `unknownRun`'s): only such a run can say that a cid
 * recorded with it names no client of another run (a session's binding, Session.openvpnRun).
 */
export function isKnownRun(run: string | undefined): run is string {
  return run !== undefined && !run.startsWith(UNKNOWN_RUN);
}

/** `SUCCESS: pid=28115` -> 28115; undefined for anything else (an ERROR, another text). */
export function pidFromReply(reply: Reply): number | undefined {
  if (reply.type !== "success") return undefined;
  const match = /^pid=(\d{1,10})$/.exec(reply.message.trim());
  return match ? Number(match[1]) : undefined;
}

/** The last `{time},{NAME},...` line of a `state` reply; undefined when there is none. */
export function stateFromReply(reply: Reply): OpenvpnState | undefined {
  if (reply.type !== "lines") return undefined;
  for (let i = reply.lines.length - 1; i >= 0; i--) {
    const match = /^(\d{1,15}),([A-Z_]{1,32}),/.exec(reply.lines[i]!);
    if (match) return { time: Number(match[1]), state: match[2]! };
  }
  return undefined;
}
