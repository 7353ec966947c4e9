/**
 * Ties one OpenVPN server's management connection to its ClientEvents (and each ESTABLISHED to
 * the check of what admitted its client, unasked_admissions.ts; its tunnels to their count,
 * tunnel_count.ts): routes events, checks
 * which clients still exist after each (re)connect (again, until the store lets it finish), and
 * fails closed when handling an auth request goes wrong (the client is denied rather than left
 * waiting; not when OpenVPN refused the answer it was given).
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { status3 } from "../management/commands.ts";
import type { ConnectionEvent, ManagementConnection } from "../management/connection.ts";
import { type ClientList, clientListFromStatus } from "../management/client_list.ts";
import type { ProtocolWarningCode } from "../management/events.ts";
import { StateHistory } from "../management/openvpn_run.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import type { ClientEvents } from "./client_events.ts";
import type { EnvClientRequest } from "./client_request.ts";
import { TunnelCount } from "./tunnel_count.ts";
import { answerRefusal, outcomeUnknown } from "./commander.ts";
import { INTERNAL_ERROR, MALFORMED_REQUEST, STORE_UNAVAILABLE } from "./denial.ts";
import { retryDelayMs } from "./retry_delay.ts";
import type { UnaskedAdmissions } from "./unasked_admissions.ts";
import { UNHEARD_MIN_AGE_SEC, unheardClients } from "./unheard_clients.ts";

/**
 * One check of which clients are gone (ServerLink#reconcile). It is the only thing that ends
 * the sessions of clients that left while the link was down (no DISCONNECT reached the bridge
 * for them: they left, or OpenVPN restarted as a new process or crashed meanwhile), and what an
 * OpenVPN restart in place left bound (the `state` case): one the store failed (Redis
 * restarting with the bridge) is tried again until it works, else those sessions stayed bound
 * to dead cids until they expired, counting against max_per_user and re-checked at the IdP.
 */
interface Reconcile {
  /** When the link came up: a binding made since (by an event of this link) is left alone. */
  readonly linkUpAt: number;
  /** The run of OpenVPN it was begun in; another run reconciles anew. */
  readonly run: string | undefined;
  /** OpenVPN's client list as read at the start (ClientEvents.forgetClientsExcept). */
  liveCids: ReadonlySet<number> | undefined;
  /** Tries that failed in a row. */
  failures: number;
  timer: TimerHandle | undefined;
}

/** How long stop() waits for the events being handled before it closes the socket anyway. */
const STOP_GRACE_MS = 3_000;

export class ServerLink {
  readonly #connection: ManagementConnection;
  readonly #events: ClientEvents;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** What checks each ESTABLISHED (server_link_builder.ts gives it; bare links in tests do not). */
  readonly #unasked: UnaskedAdmissions | undefined;
  /** Events being handled, and who waits until none is (close). */
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #unsubscribe: (() => void) | undefined;
  /** OpenVPN's pid as the link last told it: with its state history, it names OpenVPN's run. */
  #openvpnPid: number | undefined;
  /** OpenVPN's state history as this link told it (openvpn_run.ts); none before a link-up. */
  #states = new StateHistory(undefined);
  readonly #linkUpListeners = new Set<() => void>();
  /**
   * The latest reconcile until it works; dropped (never tried again) when the link goes down,
   * OpenVPN's run changes or the link stops, as the next link-up or run reconciles anew.
   */
  #unfinished: Reconcile | undefined;
  #stopped = false;
  /**
   * The cids an event of this link named since it came up (unheard_clients.ts): filled as each
   * event arrives, before it is handled, so a CONNECT that comes while the client list is read
   * keeps its client from being restarted. Kept only until the unheard clients are judged
   * (seconds), else it would grow with every client for as long as the link is up.
   */
  #heard: Set<number> | undefined;
  /** The second look at the unheard clients too young to tell at link-up; cleared with the link. */
  #unheardTimer: TimerHandle | undefined;
  /**
   * A protocol warning that names no client is logged at most once a minute per code: the peer
   * causes one a line (stray reply lines, malformed `>` lines), and that peer may be a broken
   * OpenVPN or a local user who bound the management port first. An interval per code, made when
   * first needed (the codes are a closed set, so the map stays small).
   */
  readonly #protocolWarnings = new Map<ProtocolWarningCode, WarningInterval>();
  /**
   * A CONNECT or REAUTH denied because the store failed is warned about at most once a minute
   * (at debug in between, counted): in an outage (a full disk, Redis down) every event fails
   * alike, and a REAUTH storm wrote a warning per client.
   */
  readonly #storeFailureWarning: WarningInterval;
  /** Told each event as it arrives, before it is handled, in the order OpenVPN sent them. */
  readonly #tunnels = new TunnelCount();

  constructor(
    connection: ManagementConnection,
    events: ClientEvents,
    log: Logger,
    clock: Clock,
    unasked?: UnaskedAdmissions,
  ) {
    this.#connection = connection;
    this.#events = events;
    this.#log = log;
    this.#clock = clock;
    this.#unasked = unasked;
    this.#storeFailureWarning = new WarningInterval(
      WARNING_INTERVAL_MS,
      () => clock.monotonic(),
    );
  }

  start(): void {
    this.#unsubscribe = this.#connection.onEvent((event) => {
      this.#inFlight++;
      this.#handle(event).then(this.#settled, this.#settled);
    });
    this.#connection.start();
  }

  get linkUp(): boolean {
    return this.#connection.status().linkUp;
  }

  /**
   * Clients whose tunnel is up on this server (tunnel_count.ts); undefined while the link is
   * down (a stopped link hears no `disconnected`) or does not know.
   */
  get tunnels(): number | undefined {
    return this.linkUp ? this.#tunnels.count : undefined;
  }

  /**
   * Calls `listener` each time the management link comes up (again), once this link has taken
   * in OpenVPN's run (so a sign-in's answer can be checked); returns the unsubscribe.
   */
  onLinkUp(listener: () => void): () => void {
    this.#linkUpListeners.add(listener);
    return () => this.#linkUpListeners.delete(listener);
  }

  /** Stops taking events, waits (bounded) for the ones being handled, closes the socket. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.#unsubscribe?.();
    // Set first: a reconcile still running when the events close must not arm a timer.
    this.#stopped = true;
    this.#dropReconcile("the link stopped");
    this.#dropUnheard();
    let timer: TimerHandle | undefined;
    const grace = new Promise<void>((
      resolve,
    ) => (timer = this.#clock.setTimeout(resolve, graceMs)));
    const idle = this.#inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await Promise.race([idle, grace]);
    this.#clock.clearTimeout(timer);
    this.#events.close();
    await this.#connection.close();
  }

  /** One function for every event (not a closure each: this runs once per REAUTH). */
  readonly #settled = () => {
    if (--this.#inFlight > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  /**
   * Answers a CONNECT or REAUTH; a failure denies it (fails closed), unless it was answered. Not
   * an async function: a REAUTH may wait a store round trip, and an async frame suspended
   * around it (generator, registers, promise, await closures) was held by every one waiting.
   */
  #answerClient(
    event: Extract<ConnectionEvent, { type: "client-connect" | "client-reauth" }>,
  ): Promise<void> {
    const { type, cid, kid } = event;
    let req: EnvClientRequest;
    try {
      req = this.#events.request(
        type === "client-connect" ? "connect" : "reauth",
        cid,
        kid,
        event.env,
      );
    } catch (error) {
      // Reading the block failed: denied by its ids, like a failure of its handling.
      return this.#answerFailed(type, cid, kid, undefined, error);
    }
    let answering: Promise<void>;
    try {
      answering = this.#events.onRequest(req);
    } catch (error) {
      // A throw before its first wait, in the run the event came in: denied as a rejection is.
      return this.#answerFailed(type, cid, kid, req, error);
    }
    return answering.catch((error) => this.#answerFailed(type, cid, kid, req, error));
  }

  async #answerFailed(
    type: "client-connect" | "client-reauth",
    cid: number,
    kid: number,
    req: EnvClientRequest | undefined,
    error: unknown,
  ): Promise<void> {
    if (outcomeUnknown(error)) {
      // An answer written and not confirmed: OpenVPN may still run it (commander.ts).
      this.#log.warning(
        "Handling {type} of cid {cid}: OpenVPN did not confirm the answer; not denying: {error}",
        { type, cid, error: String(error) },
      );
      return;
    }
    const refusal = answerRefusal(error);
    if (refusal !== undefined) {
      // Answered, and OpenVPN refused it: not answered again (commander.ts).
      if (refusal === "gone") {
        this.#log.info(
          "OpenVPN refused the answer to {type} of cid {cid}: {error}; the client (or that key) has gone",
          { type, cid, error: String(error) },
        );
      } else {
        this.#log.error(
          "OpenVPN refused the answer to {type} of cid {cid}: {error}; not answered again",
          { type, cid, error: String(error) },
        );
      }
      return;
    }
    // A store that cannot be reached is an outage, not a bug: say so to the client.
    const unavailable = error instanceof StoreUnavailableError;
    const failed = { type, cid, error: String(error) };
    if (unavailable) this.#storeFailed(failed);
    else this.#log.error("Handling {type} of cid {cid} failed; denying: {error}", failed);
    const denial = unavailable ? STORE_UNAVAILABLE : INTERNAL_ERROR;
    await this.#events.denyUnhandled(req, cid, kid, denial).catch(() => {});
  }

  async #handle(event: ConnectionEvent): Promise<void> {
    if (this.#heard !== undefined && "cid" in event && event.cid !== undefined) {
      this.#heard.add(event.cid);
    }
    switch (event.type) {
      case "client-connect":
      case "client-reauth": {
        // Before it is answered, in the order OpenVPN sent it (this part runs synchronously).
        this.#unasked?.asked(event.type === "client-connect" ? "connect" : "reauth", event.cid);
        // Returned, not awaited: this frame keeps `event`, whose ENV is a window on the socket
        // chunk the block came in, and an answer may wait for a store round trip while the
        // link reads more chunks. What waits is the request, which keeps none of it.
        return this.#answerClient(event);
      }
      case "client-established": {
        this.#tunnels.established(event.cid);
        // Both begin now, in the order OpenVPN sent the event; the check's kill, if any, waits
        // for no store read of the audit line's.
        const audited = this.#events.onEstablished(event.cid, event.env);
        await this.#unasked?.established(event.cid, event.env).catch((error) =>
          this.#log.error("Handling ESTABLISHED of cid {cid} failed: {error}", {
            cid: event.cid,
            error: String(error),
          })
        );
        await audited;
        return;
      }
      case "client-disconnect":
        this.#tunnels.left(event.cid);
        this.#unasked?.left(event.cid);
        await this.#events.onDisconnect(event.cid, event.env).catch((error) =>
          this.#log.error("Handling DISCONNECT of cid {cid} failed: {error}", {
            cid: event.cid,
            error: String(error),
          })
        );
        return;
      case "connected": {
        this.#openvpnPid = event.openvpnPid;
        this.#states = new StateHistory(event.openvpnStates);
        // Before any client event of this link is handled (this part runs synchronously).
        this.#events.managementVersionIs(event.managementVersion);
        // The first event of a link: what an earlier link heard is no news of this one's clients.
        this.#dropUnheard();
        this.#heard = new Set();
        // Before any client event of this link is handled: their sign-ins begin in this run.
        const ended = this.#runIs();
        for (const listener of this.#linkUpListeners) listener();
        await this.#reconcile(this.#clock.now(), true, true);
        await ended;
        return;
      }
      case "disconnected":
        // Synchronous, before any later event: no try of the old link's check runs after it.
        this.#dropReconcile("the management link went down");
        this.#dropUnheard();
        this.#tunnels.unknown();
        return;
      case "state": {
        // `state on` reports every state change; for a server each one is a (re)start.
        const before = this.#events.openvpnRun;
        // The run is taken in synchronously (ClientEvents.openvpnRunIs), before any later event.
        this.#states.told(event);
        const told = this.#runIs();
        const restarted = before !== undefined && this.#events.openvpnRun !== before;
        // EXITING (SIGTERM, SIGINT): OpenVPN closes the link next, so its client list is not
        // asked for (the reply never comes, and a warning said so at every clean stop); its
        // clients all go with it, and the bindings of the run before end as at any restart.
        const exiting = event.state === "EXITING";
        // The tunnels counted went with the run before: until this run's list is read, the
        // count is unknown rather than the old run's (its cids name other clients now).
        if (restarted && exiting) this.#tunnels.none();
        else if (restarted) this.#tunnels.unknown();
        await told;
        // A restart in place (SIGHUP, SIGUSR1) keeps the link up. OpenVPN sent a DISCONNECT
        // for each of its clients before its RECONNECTING line (and before EXITING; measured
        // with 2.6.14: tests/support/restart_in_place.ts), which end their sessions as any
        // DISCONNECT does. This check, against the client list OpenVPN has now, ends what they
        // left bound to the run before, whose cids OpenVPN hands out again: a DISCONNECT that
        // failed (disconnect_retries.ts), or one still waiting for the store or a session's lock.
        if (restarted) await this.#reconcile(this.#clock.now(), !exiting);
        return;
      }
      case "warning": {
        // The one log line of a protocol warning (or none, in a flood). A dropped block that
        // names its client gets a deny: that client is waiting for an answer to a request we
        // will never see.
        const { cid, kid, message } = event;
        if (cid === undefined || kid === undefined) {
          this.#protocolWarning(event.code, message);
          return;
        }
        this.#log.warning("Management protocol: {message}; denying cid {cid}", { message, cid });
        await this.#events.denyUnhandled(undefined, cid, kid, MALFORMED_REQUEST).catch(() => {});
        return;
      }
      default:
        return;
    }
  }

  /**
   * Logs a protocol warning that names no client (#protocolWarnings). One that names
   * a client is not held back: it comes with that client's deny.
   */
  #protocolWarning(code: ProtocolWarningCode, message: string): void {
    let interval = this.#protocolWarnings.get(code);
    if (interval === undefined) {
      interval = new WarningInterval(WARNING_INTERVAL_MS, () => this.#clock.monotonic());
      this.#protocolWarnings.set(code, interval);
    }
    const more = interval.due();
    if (more === undefined) return;
    if (more === 0) {
      this.#log.warning("Management protocol: {message}", { message });
    } else {
      this.#log.warning(
        "Management protocol: {message} ({more} more like it since the last warning)",
        { message, more },
      );
    }
  }

  /** A denial for the store's failure: a warning at most once a while (see its interval). */
  #storeFailed(failed: { type: string; cid: number; error: string }): void {
    const message = "Handling {type} of cid {cid} failed; denying: {error}";
    logDue(this.#storeFailureWarning, this.#log, "warning", message, failed);
  }

  /** Tells the events the run of OpenVPN's latest state (undefined: one of its own). */
  #runIs(): Promise<unknown> {
    return this.#events.openvpnRunIs(this.#states.run(this.#openvpnPid)).catch((error) =>
      this.#log.error("Ending the sign-ins of an earlier OpenVPN run failed: {error}", {
        error: String(error),
      })
    );
  }

  /**
   * Ends the sessions whose client is gone (ClientEvents.forgetClientsExcept): those bound in
   * another run of OpenVPN whatever the client list says, those missing from the list when it
   * could be read whole (asked for unless `readList` is false). Replaces the one still to be
   * tried again, with the list as it is now. At a link-up (`linkUp`), first restarts the clients
   * OpenVPN never told the bridge of (unheard_clients.ts).
   */
  async #reconcile(linkUpAt: number, readList = true, linkUp = false): Promise<void> {
    this.#dropReconcile("a newer check replaces it");
    const reconcile: Reconcile = {
      linkUpAt,
      run: this.#events.openvpnRun,
      liveCids: undefined,
      failures: 0,
      timer: undefined,
    };
    this.#unfinished = reconcile;
    if (readList) {
      const list = await this.#clientList();
      reconcile.liveCids = list && new Set(list.rows.map(({ cid }) => cid));
      if (linkUp) {
        if (list !== undefined) await this.#restartUnheard(list);
        else this.#dropUnheard();
      }
    }
    await this.#tryReconcile(reconcile);
  }

  /**
   * One try; failed, the next is armed (retry_delay.ts) unless it was dropped meanwhile. The
   * client list is not read again: within a run a cid names one client, and one that left
   * since the link came up was ended by its DISCONNECT.
   */
  async #tryReconcile(reconcile: Reconcile): Promise<void> {
    try {
      await this.#events.forgetClientsExcept(reconcile.liveCids, reconcile.linkUpAt);
    } catch (error) {
      if (this.#unfinished !== reconcile || this.#stopped) return;
      const delayMs = retryDelayMs(++reconcile.failures);
      // Warned once: the tries after it fail alike while the store is out.
      this.#log[reconcile.failures === 1 ? "warning" : "debug"](
        "Could not end the sessions of clients that are gone; trying again in {seconds} s: {error}",
        { seconds: delayMs / 1000, error: String(error) },
      );
      reconcile.timer = this.#clock.setTimeout(
        () => this.#retryReconcile(reconcile),
        delayMs,
        { keepAlive: false },
      );
      return;
    }
    if (this.#unfinished === reconcile) this.#unfinished = undefined;
    if (reconcile.failures > 0) {
      this.#log.info(
        "Ended the sessions of clients that are gone, after {failures} failed tries",
        { failures: reconcile.failures },
      );
    }
  }

  #retryReconcile(reconcile: Reconcile): void {
    reconcile.timer = undefined;
    if (this.#unfinished !== reconcile) return;
    // OpenVPN restarted and its state event's reconcile has not begun yet: that one reads the
    // new run's list, where this one's cids name the old run's clients.
    if (this.#events.openvpnRun !== reconcile.run) {
      this.#dropReconcile("OpenVPN restarted");
      return;
    }
    // As an event: stop() waits for it.
    this.#inFlight++;
    this.#tryReconcile(reconcile).then(this.#settled, this.#settled);
  }

  #dropReconcile(why: string): void {
    const reconcile = this.#unfinished;
    if (reconcile === undefined) return;
    this.#unfinished = undefined;
    this.#clock.clearTimeout(reconcile.timer);
    if (reconcile.failures > 0) {
      this.#log.debug("Not trying again to end the sessions of clients that are gone: {why}", {
        why: words(why),
      });
    }
  }

  /**
   * Restarts the clients of `list` that OpenVPN never told this bridge of, old enough to tell;
   * the younger ones are judged again when they are (unheard_clients.ts). Not the clients the
   * store has sessions bound to in this run. Decided on what was heard up to then, with nothing
   * awaited between the decision and the kills.
   */
  async #restartUnheard(list: ClientList): Promise<void> {
    const heard = this.#heard ?? new Set<number>();
    const heardOrSigningIn = (cid: number) => heard.has(cid) || this.#events.maySignInOn(cid);
    if (!unheardClients(list, heardOrSigningIn).any) {
      this.#heard = undefined;
      return;
    }
    // Only when some row is a candidate: a store read per link-up otherwise. Read before the
    // decision, so what is heard meanwhile counts too. A store that cannot say which clients it
    // admitted restarts nobody (a connected client may show no address).
    const bound = await this.#events.boundCids().catch((error) => {
      this.#log.warning(
        "Clients that connected while the bridge was away are not restarted: the session store " +
          "could not list the clients it admitted: {error}",
        { error: String(error) },
      );
      return undefined;
    });
    if (bound === undefined) {
      this.#dropUnheard();
      return;
    }
    const known = (cid: number) => heardOrSigningIn(cid) || bound.has(cid);
    const { now, later } = unheardClients(list, known);
    const run = this.#events.openvpnRun;
    if (later.length > 0) {
      this.#unheardTimer = this.#clock.setTimeout(
        () => {
          // After a restart of OpenVPN in place these cids name the new run's clients, or none.
          const cids = this.#events.openvpnRun === run ? later.filter((cid) => !known(cid)) : [];
          this.#dropUnheard();
          // As an event: stop() waits for it.
          this.#inFlight++;
          this.#restart(cids).then(this.#settled, this.#settled);
        },
        UNHEARD_MIN_AGE_SEC * 1000,
        { keepAlive: false },
      );
    } else {
      this.#heard = undefined;
    }
    await this.#restart(now);
  }

  async #restart(cids: readonly number[]): Promise<void> {
    if (cids.length === 0 || this.#stopped) return;
    const results = await Promise.allSettled(cids.map((cid) => this.#events.restartUnheard(cid)));
    const failed = results.filter((result) => result.status === "rejected");
    const first = failed[0];
    // One line for them all: after an outage of the bridge there may be hundreds.
    this.#log.info(
      "Restarted {count} client(s) that connected while the bridge was away (OpenVPN never told " +
        "it of them): they reconnect on their tokens",
      { count: cids.length - failed.length },
    );
    if (first !== undefined) {
      // Refused: mostly a client that left meanwhile.
      this.#log.debug("{count} unheard client(s) not restarted: {error}", {
        count: failed.length,
        error: String(first.reason),
      });
    }
  }

  #dropUnheard(): void {
    this.#clock.clearTimeout(this.#unheardTimer);
    this.#unheardTimer = undefined;
    this.#heard = undefined;
  }

  /**
   * OpenVPN's client list; undefined when it could not be read whole. The tunnels are counted
   * from it (asked for at each link-up and new run only).
   */
  async #clientList(): Promise<ClientList | undefined> {
    const listing = this.#tunnels.listing();
    const list = await this.#readClientList();
    this.#tunnels.listed(listing, list);
    return list;
  }

  async #readClientList(): Promise<ClientList | undefined> {
    try {
      const reply = await this.#connection.send(status3());
      if (reply.type !== "lines") return undefined;
      // A list cut at the reply limit leaves out clients that are still connected: ending their
      // sessions would deny each of them at its next renegotiation. None is ended for missing
      // from it then, and the sessions of clients that left while the bridge was away stay until
      // they expire (those of another run of OpenVPN end all the same).
      if (reply.truncated) {
        this.#log.warning(
          "The client list was cut at the management reply limit: no session is ended for clients missing from it",
        );
        return undefined;
      }
      return clientListFromStatus(reply.lines);
    } catch (error) {
      this.#log.warning("Could not read OpenVPN's client list: {error}", {
        error: String(error),
      });
      return undefined;
    }
  }
}
