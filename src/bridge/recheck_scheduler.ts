/**
 * `sessions.recheck_interval`: every session bound to a connected client is re-checked at the
 * IdP once per interval, in the background, so a disabled user is noticed even with
 * `reneg-sec 0` (where no REAUTH ever comes).
 *
 * The interval is cut into slices; each session belongs to one slice by a hash of its id, so
 * it is checked at the same phase of every round (once per interval, never twice in a row).
 * The bound sessions are listed once per round, when it starts (a listing reads every binding
 * of every server); a session bound later in the round waits for the next one. In a cluster an
 * instance re-checks only the servers whose link it holds (`servers`): when that set changes
 * the round is listed again, and a session of a server it no longer holds is skipped, so two
 * instances never refresh one token at once, and a server taken over is not left unchecked.
 * The sessions of a slice are spread evenly over the slice: the IdP sees a steady trickle of
 * refresh grants, never a burst, whatever the number of sessions.
 *
 * Rounds and slices run on `clock.monotonic()`: the schedule is this instance's own, never stored
 * nor shared, and a wall clock stepped back an hour would otherwise check nobody for that hour
 * (a month back: every delay past the timer limit, every slice at once, an IdP refresh storm).
 */
import type { Logger } from "@logtape/logtape";
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from "../clock.ts";
import type { Session, SessionStore } from "../sessions/types.ts";

/** Slices are at least this long, so a short interval does not wake the loop needlessly. */
const MIN_SLICE_MS = 1_000;
const MAX_SLICES = 60;

/** A bound session, as the stores list them cheaply (no token decrypted). */
export interface BoundSession {
  server: string;
  sessionId: string;
}

/**
 * The re-check itself (the admission step: refresh grant, current policy on what the IdP says
 * now; a refused client is killed and its session ended, the refusal counted and audited).
 * Undefined when the session is no longer bound there (or has ended meanwhile); `admit: false`
 * when the client was refused (its session has ended, or the IdP was unreachable and
 * `idp_unreachable = "deny"`). `idpUnreachable`: the IdP could not be asked, and this setting
 * decided (the admission step tells such an outage once: refresh_outage.ts).
 */
export type RecheckSession = (
  bound: BoundSession,
) => Promise<
  { admit: boolean; session: Session; idpUnreachable?: "deny" | "allow" } | undefined
>;

export interface RecheckSchedulerDeps {
  intervalMs: number;
  clock: Clock;
  /** The servers whose sessions are re-checked here now (in a cluster: whose link it holds). */
  servers: () => readonly string[];
  listBound: (servers: readonly string[]) => Promise<BoundSession[]>;
  recheck: RecheckSession;
  log: Logger;
}

/**
 * The sessions bound to a client on any of `servers`, each once: a listing is read in chunks, and
 * a session that moved to a higher cid between two of them is listed at both (it would be
 * re-checked twice in a round).
 */
export async function listBound(
  store: Pick<SessionStore, "listBindings">,
  servers: readonly string[],
): Promise<BoundSession[]> {
  const lists = await Promise.all(servers.map((server) => store.listBindings(server)));
  const bound: BoundSession[] = [];
  lists.forEach((bindings, i) => {
    const server = servers[i]!;
    const seen = new Set<string>();
    for (const { sessionId } of bindings) {
      if (seen.has(sessionId)) continue;
      seen.add(sessionId);
      bound.push({ server, sessionId });
    }
  });
  return bound;
}

/** The slice (0 .. slices-1) a session id belongs to: FNV-1a, stable across restarts. */
export function sliceOf(sessionId: string, slices: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % slices;
}

/**
 * The longest a bound session can go without a re-check. Rounds are listed when they start, so
 * a session bound just after a listing is first checked at its slice of the next round: up to
 * two intervals after it was bound, though one interval apart from then on. A restart or a
 * cluster takeover starts rounds anew, with the same gap. A refresh token must outlive this
 * (refresh_expiry.ts warns when it does not).
 */
export function longestRecheckGapMs(intervalMs: number): number {
  return 2 * intervalMs;
}

export function sliceCount(intervalMs: number): number {
  return Math.max(1, Math.min(MAX_SLICES, Math.floor(intervalMs / MIN_SLICE_MS)));
}

export class RecheckScheduler {
  readonly #deps: RecheckSchedulerDeps;
  readonly #slices: number;
  readonly #sliceMs: number;
  /** When the first round started, on the monotonic clock. */
  #startedAt = 0;
  #tick = 0;
  /** This round's bound sessions by slice; undefined until listed. */
  #round: BoundSession[][] | undefined;
  /** The servers the round was listed for, joined. */
  #roundServers = "";
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** Wakes a slice that waits between two re-checks, so stop() need not wait it out. */
  #wake: (() => void) | undefined;

  constructor(deps: RecheckSchedulerDeps) {
    this.#deps = deps;
    this.#slices = sliceCount(deps.intervalMs);
    this.#sliceMs = deps.intervalMs / this.#slices;
  }

  start(): void {
    this.#stopped = false;
    this.#startedAt = this.#deps.clock.monotonic();
    this.#tick = 0;
    this.#round = undefined;
    this.#arm();
  }

  /** Stops; a re-check under way is finished, nothing new is started. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
  }

  /**
   * Next slice at its due time; a slice that overran starts the next one at once. On the
   * monotonic clock no delay exceeds a slice (2.8 hours for the longest interval allowed, 7 days):
   * the cut to the timer limit only keeps a longer interval from firing every slice at once.
   */
  #arm(): void {
    if (this.#stopped) return;
    const due = this.#startedAt + (this.#tick + 1) * this.#sliceMs;
    this.#timer = this.#deps.clock.setTimeout(
      () => {
        const slice = this.#tick % this.#slices;
        this.#tick++;
        this.#running = this.#runSlice(slice, due).finally(() => this.#arm());
      },
      Math.min(MAX_TIMER_DELAY_MS, Math.max(0, due - this.#deps.clock.monotonic())),
      { keepAlive: false },
    );
  }

  /** `startedAt`: when the slice was due, on the monotonic clock. */
  async #runSlice(slice: number, startedAt: number): Promise<void> {
    const { clock } = this.#deps;
    const servers = this.#deps.servers();
    const serversKey = servers.join("\u0000");
    // A lease taken or lost since the listing: the round is listed again for the servers now.
    if (slice === 0 || serversKey !== this.#roundServers) this.#round = undefined;
    // A failed listing is tried again at the next slice, not a round later.
    if (this.#round === undefined) {
      this.#round = await this.#listRound(servers);
      this.#roundServers = serversKey;
    }
    const members = this.#round?.[slice] ?? [];
    const spacing = this.#sliceMs / Math.max(1, members.length);
    for (const [index, member] of members.entries()) {
      if (this.#stopped) return;
      const at = startedAt + index * spacing;
      const wait = at - clock.monotonic();
      if (wait > 0) await this.#sleep(Math.min(MAX_TIMER_DELAY_MS, wait));
      if (this.#stopped) return;
      // Its link went to another instance since the listing: that one re-checks it now.
      if (!this.#deps.servers().includes(member.server)) continue;
      await this.#checkOne(member);
    }
  }

  async #listRound(servers: readonly string[]): Promise<BoundSession[][] | undefined> {
    let bound: BoundSession[];
    try {
      bound = await this.#deps.listBound(servers);
    } catch (error) {
      this.#deps.log.warning("Re-check: cannot list sessions: {error}", { error: String(error) });
      return undefined;
    }
    const round: BoundSession[][] = Array.from({ length: this.#slices }, () => []);
    for (const member of bound) round[sliceOf(member.sessionId, this.#slices)]!.push(member);
    return round;
  }

  async #checkOne(member: BoundSession): Promise<void> {
    const { log } = this.#deps;
    try {
      const outcome = await this.#deps.recheck(member);
      if (!outcome || outcome.admit) return;
      // A client disconnected for an IdP outage is told by the outage's lines and its audit line.
      const level = outcome.idpUnreachable === "deny" ? "debug" : "info";
      const { username, cid } = outcome.session;
      if (cid === undefined) {
        log[level]("Re-check refused {username} (no client connected)", { username });
      } else log[level]("Re-check refused {username} (cid {cid})", { username, cid });
    } catch (error) {
      log.warning("Re-check of a session on {server} failed: {error}", {
        server: member.server,
        error: String(error),
      });
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(
        () => {
          this.#wake = undefined;
          resolve();
        },
        ms,
        { keepAlive: false },
      );
      this.#wake = () => {
        this.#deps.clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
