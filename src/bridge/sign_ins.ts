/**
 * The sign-ins in progress on one OpenVPN server, as ClientEvents keeps them: the latest one
 * begun on each cid, each one's deadline, and the run of OpenVPN they began in. State only: the
 * store deletes and the denials these decisions call for are ClientEvents' (client_events.ts).
 *
 * A cid and kid name a client only within one run of OpenVPN (openvpn_run.ts): a restart
 * numbers clients from 0 again and tells nobody about the clients it had. So a sign-in ends
 * when another begins on its cid, when its client leaves, and when OpenVPN's run changes.
 *
 * Each sign-in still waiting for its answer holds one of OpenVPN's `max-clients` places, so
 * they are counted by address (addressGroup: an IPv6 /64 as one), for
 * `openvpn.max_pending_per_address`: one host sending CONNECTs without credentials
 * (`verify-client-cert none`) would otherwise fill the server and turn real users away.
 */
import type { Clock } from "../clock.ts";
import type { SignInRef } from "./commander.ts";
import { ExpiryQueue } from "./expiry_queue.ts";
import { ownString } from "../sessions/entry_check.ts";
import { unknownRun } from "../management/openvpn_run.ts";
import { addressGroup } from "../ip_address.ts";

/** A sign-in's deadline, with what its audit line names if it passes. */
export interface SignIn {
  id: string;
  cid: number;
  kid: number;
  /** When it began (PendingLogin.createdAt): a client that leaves is told how long it waited. */
  createdAt: number;
  expiresAt: number;
  commonName: string;
  clientIp: string;
  /** The run of OpenVPN it began in (PendingLogin.openvpnRun). */
  run: string | undefined;
}

/**
 * A sign-in as SignIns keeps it: its own copy, with the address group it is counted in while it
 * waits for its answer (undefined once answered or ended). On the record, not in a WeakMap
 * beside it: B2's storms leave tens of thousands waiting, and a WeakMap's entries are walked by
 * every young-generation collection. With the WeakMap (and the address parsed to bytes for
 * IPv4 too), garbage collection took 7.5% of the memory bridge's B2 profile against 1.2% before
 * the count, and 12-15 µs more CPU per CONNECT (bench/README.md, 2026-12-05 19:20 UTC).
 */
interface Tracked extends SignIn {
  countedIn: string | undefined;
}

export class SignIns {
  /** A sign-in not finished in time is denied, so the client learns why instead of hanging. */
  readonly #deadlines: ExpiryQueue<Tracked>;
  /** The latest sign-in begun (or adopted) on each cid, until its deadline or DISCONNECT. */
  readonly #byCid = new Map<number, Tracked>();
  /** OpenVPN's run, as the link last told it; undefined before the first time. */
  #run: string | undefined;
  /** How many callbacks of this process are taking, or took, each tracked sign-in (taking). */
  readonly #takers = new WeakMap<SignIn, number>();
  /** How many sign-ins wait for their answer from each address group (addressGroup). */
  readonly #waitingFrom = new Map<string, number>();
  /** `openvpn.max_pending_per_address` (0: no cap); read at each CONNECT, as a reload sets it. */
  readonly #maxPerAddress: () => number;

  /**
   * `onOverdue` hears of a sign-in whose deadline passed while it was still the latest on its
   * cid (a sign-in ended earlier has nobody left to deny); it is no longer tracked by then.
   * `maxPerAddress`: how many sign-ins may wait from one address group (0: any number).
   */
  constructor(
    onOverdue: (signIn: SignIn) => void,
    clock: Clock,
    maxPerAddress: () => number = () => 0,
  ) {
    this.#maxPerAddress = maxPerAddress;
    this.#deadlines = new ExpiryQueue((signIn) => {
      this.#uncount(signIn);
      if (this.#byCid.get(signIn.cid) !== signIn) return;
      this.#byCid.delete(signIn.cid);
      onOverdue(signIn);
    }, clock);
  }

  /** The run new sign-ins begin in; undefined until the link first told one. */
  get run(): string | undefined {
    return this.#run;
  }

  /**
   * Ends the sign-in begun earlier on `cid`, before another begins there; returns it (its
   * pending login is to be deleted), or undefined.
   */
  endOn(cid: number): SignIn | undefined {
    const earlier = this.#byCid.get(cid);
    if (earlier !== undefined) {
      this.#byCid.delete(cid);
      this.#uncount(earlier);
    }
    return earlier;
  }

  /**
   * Whether one more sign-in may begin from `clientIp`: fewer than `maxPerAddress` wait from its
   * address group (an IPv6 /64 counts as one address, as the HTTP guard counts it).
   */
  hasRoomFrom(clientIp: string): boolean {
    const max = this.#maxPerAddress();
    return max === 0 || (this.#waitingFrom.get(addressGroup(clientIp)) ?? 0) < max;
  }

  /**
   * The answer to sign-in `loginId` on `cid` was written (client-auth, a deny, a HALT): its client
   * no longer waits, and is no longer counted against its address. Still tracked, to its deadline.
   */
  answered(cid: number, loginId: string): void {
    const signIn = this.#byCid.get(cid);
    if (signIn?.id === loginId) this.#uncount(signIn);
  }

  /**
   * Tracks a sign-in begun (or adopted) on its cid; call `endOn` first. Kept for minutes: its
   * names are no slices of the CONNECT block, which would keep the chunk the block was read in
   * (a request's strings are its own: client_request.ts).
   */
  track(signIn: SignIn): void {
    const group = addressGroup(signIn.clientIp);
    const kept: Tracked = { ...signIn, countedIn: group };
    // Tracked before its deadline is queued: one already due fires inside add(), and must find
    // itself the latest on its cid to be denied.
    this.#byCid.set(kept.cid, kept);
    this.#waitingFrom.set(group, (this.#waitingFrom.get(group) ?? 0) + 1);
    this.#deadlines.add(kept);
  }

  /**
   * A callback of this process is about to take sign-in `loginId` on `cid` from the store, to
   * answer it. Returns the undo, for a take that found nothing or failed. A sign-in no longer
   * tracked needs no mark: its deadline has passed, or will never deny it.
   */
  taking(cid: number, loginId: string): () => void {
    const signIn = this.#byCid.get(cid);
    if (signIn?.id !== loginId) return () => {};
    this.#takers.set(signIn, (this.#takers.get(signIn) ?? 0) + 1);
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      this.#takers.set(signIn, this.#takers.get(signIn)! - 1);
    };
  }

  /** Whether a callback of this process took `signIn` from the store, or is taking it. */
  takenHere(signIn: SignIn): boolean {
    return (this.#takers.get(signIn) ?? 0) > 0;
  }

  /** The client at `cid` left: its sign-in has nobody to answer. Returns it, or undefined. */
  clientLeft(cid: number): SignIn | undefined {
    return this.endOn(cid);
  }

  /** Whether a sign-in on `cid` is tracked (begun or adopted, in OpenVPN's current run). */
  hasOn(cid: number): boolean {
    return this.#byCid.has(cid);
  }

  /**
   * Whether the sign-in begun on `cid` with key `kid` still waits for its answer: its client has
   * not left, its deadline has not passed, no other began on the cid, and OpenVPN's run is the
   * one it began in.
   */
  waits(cid: number, kid: number): boolean {
    return this.#byCid.get(cid)?.kid === kid;
  }

  /**
   * Whether sign-in `loginId` is still the one waiting on `cid`, finished or not: its client has
   * not left, its deadline has not passed, no other began on the cid, and OpenVPN's run has not
   * changed since.
   */
  tracks(cid: number, loginId: string): boolean {
    return this.#byCid.get(cid)?.id === loginId;
  }

  /**
   * The link told OpenVPN's run (`undefined`: OpenVPN did not say, a run of its own that
   * matches nothing earlier). Returns the sign-ins begun in another run, which end here (their
   * cids now name other clients, or nobody), and how many of them still waited for their answer:
   * an answered one is kept to its deadline, and its user is in already.
   */
  runIs(run: string | undefined): { ended: SignIn[]; unanswered: number } {
    if (run !== undefined && run === this.#run) return { ended: [], unanswered: 0 };
    // One copy of its own, kept for the run: every session bound in it refers to this string
    // (Session.openvpnRun), which must not hold the reply it was read from.
    const current = run === undefined ? unknownRun() : ownString(run);
    this.#run = current;
    const ended: Tracked[] = [];
    for (const signIn of this.#byCid.values()) {
      if (signIn.run !== current) ended.push(signIn);
    }
    let unanswered = 0;
    for (const signIn of ended) {
      this.#byCid.delete(signIn.cid);
      if (signIn.countedIn !== undefined) unanswered++;
      this.#uncount(signIn);
    }
    return { ended, unanswered };
  }

  /**
   * Whether a finished sign-in still names the client at `cid`: begun in OpenVPN's current
   * run, and no other sign-in began on that cid since. A sign-in this link never saw (taken
   * over mid-callback) passes on its run alone: within one run OpenVPN never reuses a cid.
   * Undefined until the link first told a run (an instance that just took the link over): it
   * cannot be judged yet.
   */
  isCurrent(cid: number, signIn: SignInRef): boolean | undefined {
    if (this.#run === undefined) return undefined;
    if (signIn.openvpnRun === undefined || signIn.openvpnRun !== this.#run) return false;
    const latest = this.#byCid.get(cid);
    return latest === undefined || latest.id === signIn.loginId;
  }

  /** Stops the deadlines (the service is stopping). */
  close(): void {
    this.#deadlines.close();
    this.#byCid.clear();
    this.#waitingFrom.clear();
  }

  /** `signIn` no longer waits from its address (once: it may end after it was answered). */
  #uncount(signIn: Tracked): void {
    const group = signIn.countedIn;
    if (group === undefined) return;
    signIn.countedIn = undefined;
    // Undefined once close() cleared the counts.
    const left = (this.#waitingFrom.get(group) ?? 0) - 1;
    if (left <= 0) this.#waitingFrom.delete(group);
    else this.#waitingFrom.set(group, left);
  }
}
