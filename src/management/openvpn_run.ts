/**
 * Which run of OpenVPN a client id belongs to. OpenVPN numbers its clients from 0 again at
 * every start, and at every restart inside its process (SIGHUP, SIGUSR1), which keeps the
 * management connection open. Measured with 2.6.14 (tests/support/restart_in_place.ts has the
 * transcript): on SIGHUP or SIGUSR1 the management client first gets a `>CLIENT:DISCONNECT`
 * (with its ENV) for each client, then `>STATE:{time},RECONNECTING,SIGHUP,...` (or `SIGUSR1`;
 * with `state on`), ASSIGN_IP and CONNECTED, and the clients that reconnect are
 * `>CLIENT:CONNECT,0,1`, `>CLIENT:CONNECT,1,1`, ... again, in the order they come back (after
 * SIGUSR1 two clients had each other's cid). So a cid and key id name a client only together
 * with the run: the process (`pid`) and OpenVPN's latest state, which every start and restart
 * changes.
 *
 * A state is named by its time (whole seconds) and name, and by how many of the same time and
 * name OpenVPN's state history holds: with `management-hold` released at once, a restart comes
 * within one second, and two SIGUSR1 in a row gave `CONNECTED` twice in the same second
 * (measured with 2.6.14), which a name of time and state alone took for one run. The history
 * is what `state all` prints, so a bridge that just started, or another instance of a cluster
 * taking the link over, names the run as the one that followed it live.
 */
import type { Reply } from "./events.ts";

/** The time and name of a state (`{time},{name},...`, as `state` and `>STATE:` give it). */
export interface OpenvpnState {
  time: number;
  state: string;
}

/** The longest run text: a pid, a time, a state name and its count, bounded like any input. */
export const MAX_OPENVPN_RUN_CHARS = 80;

/**
 * The run of `state`, the `nth` of its time and name in OpenVPN's history. The first keeps the
 * name versions before this gave every run: sessions stored by them stay in their run.
 */
export function openvpnRun(pid: number, state: OpenvpnState, nth = 1): string {
  return `${pid}@${state.time}:${state.state}${nth > 1 ? `#${nth}` : ""}`;
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

/** A state line's time and name as OpenVPN prints them (`{time},{NAME},...`). */
const STATE_LINE = /^(\d{1,15}),([A-Z_]{1,32}),/;
const STATE_NAME = /^[A-Z_]{1,32}$/;

/**
 * How many states OpenVPN's history keeps, the newest: MANAGEMENT_STATE_BUFFER_SIZE in 2.6's
 * manage.h, which no option changes (measured with 2.6.14: `state all` printed 100 lines after
 * 43 restarts).
 */
export const STATE_HISTORY_SIZE = 100;

/**
 * The states of a `state all` reply, oldest first; undefined when it is no such reply, or any
 * line is not a state (a history read in part could count a run's state too few times).
 */
export function statesFromReply(reply: Reply): OpenvpnState[] | undefined {
  if (reply.type !== "lines" || reply.truncated) return undefined;
  const states: OpenvpnState[] = [];
  for (const line of reply.lines) {
    const match = STATE_LINE.exec(line);
    if (!match) return undefined;
    states.push({ time: Number(match[1]), state: match[2]! });
  }
  return states;
}

/**
 * OpenVPN's state history as one link knows it: what `state all` printed as the link came up,
 * then each `>STATE:` line since (OpenVPN prints each state it adds to that history), the last
 * STATE_HISTORY_SIZE kept as OpenVPN keeps them. A bridge that followed the restarts live and
 * one that just read `state all` thus name a run alike.
 */
export class StateHistory {
  readonly #states: OpenvpnState[];
  /** Whether OpenVPN may have dropped states older than the first one held here. */
  #cut: boolean;

  /** `told`: the states `state all` printed; undefined when OpenVPN did not tell them. */
  constructor(told: readonly OpenvpnState[] | undefined) {
    this.#states = told === undefined ? [] : told.slice(-STATE_HISTORY_SIZE);
    // A full history may have lost its oldest; one not told is all unknown.
    this.#cut = told === undefined || told.length >= STATE_HISTORY_SIZE;
  }

  /**
   * A `>STATE:` line: OpenVPN added that state. Full, as one read from `state all` would be, the
   * history is taken for cut, so that both name the run alike.
   */
  told(state: OpenvpnState): void {
    this.#states.push({ time: state.time, state: state.state });
    if (this.#states.length > STATE_HISTORY_SIZE) this.#states.shift();
    if (this.#states.length >= STATE_HISTORY_SIZE) this.#cut = true;
  }

  /**
   * The run of OpenVPN's latest state in process `pid` (openvpnRun); undefined when it cannot
   * be named for sure, which makes it a run of its own (unknownRun): OpenVPN did not tell its
   * pid or history, or the history may have lost a state of the latest one's second. OpenVPN's
   * clock never goes back (update_now, otime.c), so when a state of an earlier second is held,
   * none of the latest second was lost.
   */
  run(pid: number | undefined): string | undefined {
    const latest = this.#states.at(-1);
    if (pid === undefined || latest === undefined || !STATE_NAME.test(latest.state)) {
      return undefined;
    }
    if (this.#cut && !(this.#states[0]!.time < latest.time)) return undefined;
    let nth = 0;
    for (const { time, state } of this.#states) {
      if (time === latest.time && state === latest.state) nth++;
    }
    return openvpnRun(pid, latest, nth);
  }
}
