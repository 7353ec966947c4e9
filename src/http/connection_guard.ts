/**
 * A TCP front for the HTTP server: it accepts browser connections, counts them, times them out
 * and relays each to the HTTP server on a private loopback port. Neither `Deno.serve` (no
 * timeouts at all) nor `Bun.serve` (an idle timeout that a client dripping one byte at a time
 * keeps resetting, no connection cap) protects the listener from clients that open connections
 * and send nothing, or send their request slowly: a few hundred of those held the listener
 * forever, and past the open-file limit Deno's listener threw and the process ended.
 *
 * Every connection is in one of three phases:
 * - idle: nothing in flight; closed after `idleTimeoutMs` without traffic;
 * - receiving: bytes arrived while idle (a TLS handshake, request headers, a request body); the
 *   HTTP server must start handling a request within `headerTimeoutMs`, however the bytes
 *   trickle in;
 * - handling: the HTTP server runs a request whose body has arrived (the handler reports it via
 *   `requestStarted` / `requestEnded`, found by the relay socket's two ports; serve.ts reads the
 *   body first); closed only after `requestTimeoutMs`.
 * A client address (an IPv6 /64) may hold `maxConnectionsPerClient` connections; more are
 * refused at once, so one attacker cannot take the slots of everyone else. At `maxConnections`,
 * a new connection evicts the connection that has been idle or receiving longest (or one
 * handling a request for longer than `headerTimeoutMs`); if there is none, the new connection
 * is refused. So slow clients cannot hold all the slots, and normal requests, whose headers
 * arrive in milliseconds, keep being served during such an attack.
 *
 * TLS passes through the guard untouched. Its sockets come from guard_transport.ts.
 *
 * Every time here is `performance.now()`, never `Date.now()`: NTP or an admin stepping the wall
 * clock back an hour would otherwise hold every connection an hour past its timeout (and, at the
 * cap, refuse new ones) and silence the problem reports for that hour.
 */
import { addressGroup, hostAndPort } from "../ip_address.ts";
import { guardTransport } from "./guard_transport.ts";
import type { GuardListener, GuardTransport, RelaySocket } from "./relay_socket.ts";
import { errorText } from "../error_text.ts";

/**
 * `http.header_timeout` and `http.idle_timeout`: a browser needs a moment, and past ~24.8 days
 * a timer fires at once (every connection would be closed as soon as it opened).
 */
export const HTTP_TIMEOUT_LIMITS_MS = { min: 1_000, max: 3_600_000 } as const;

export interface GuardOptions {
  host: string;
  port: number;
  /**
   * The HTTP server's private loopback port, asked for each new connection: it changes when that
   * server is replaced (a restart, a certificate reload) while connections to the old one finish.
   */
  targetPort: () => number;
  maxConnections: number;
  /** Per client address (an IPv6 /64 counts as one); a client over it is refused at once. */
  maxConnectionsPerClient: number;
  /** Clients exempt from the per-client cap: trusted reverse proxies carry many users. */
  isExempt: (ip: string) => boolean;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** Told about refusals and accept errors (e.g. out of file descriptors); never throws. */
  onProblem: (problem: string) => void;
  /** The sockets (default: the runtime's, guard_transport.ts). */
  transport?: GuardTransport;
}

export interface GuardStats {
  open: number;
  refused: number;
  timedOut: number;
  evicted: number;
}

const REPORT_INTERVAL_MS = 10_000;

type Phase = "idle" | "receiving" | "handling";

interface Connection {
  client: RelaySocket;
  clientKey: string | undefined;
  /** The HTTP server's port this connection is relayed to. */
  serverPort: number;
  relay: RelaySocket | undefined;
  relayKey: number | undefined;
  /** A request has started on it (an HTTP server closed before would drop the first one). */
  served: boolean;
  phase: Phase;
  inFlight: number;
  handlingSince: number;
  /** When the current phase times out (on performance.now()). */
  deadline: number;
  /** The one timer, due at `timerAt` (at or before `deadline`); it re-arms when early. */
  timer: ReturnType<typeof setTimeout> | undefined;
  timerAt: number;
  closed: boolean;
}

export class ConnectionGuard {
  readonly #options: GuardOptions;
  readonly #transport: GuardTransport;
  #listener: GuardListener | undefined;
  /**
   * Connections by their relay socket's two ports (relayKey): the local one is the HTTP server's
   * peer port, and a port connected to one HTTP server may be in use towards another as well.
   */
  readonly #byRelay = new Map<number, Connection>();
  readonly #all = new Set<Connection>();
  readonly #perClient = new Map<string, number>();
  /** Idle or receiving connections, oldest phase change first: eviction candidates. */
  readonly #waiting = new Set<Connection>();
  /** Connections handling a request, oldest first. */
  readonly #handling = new Set<Connection>();
  readonly #stats: GuardStats = { open: 0, refused: 0, timedOut: 0, evicted: 0 };
  /** None yet: performance.now() starts near 0, and the first report must not wait. */
  #lastReport = Number.NEGATIVE_INFINITY;
  #unreported = 0;
  /** What callers wait for; checked again whenever a connection ends or starts a request. */
  readonly #awaited = new Set<{ holds: () => boolean; resolve: () => void }>();

  private constructor(options: GuardOptions) {
    this.#options = options;
    this.#transport = options.transport ?? guardTransport();
  }

  static async start(options: GuardOptions): Promise<ConnectionGuard> {
    for (const ms of [options.headerTimeoutMs, options.idleTimeoutMs]) {
      if (!(ms >= HTTP_TIMEOUT_LIMITS_MS.min && ms <= HTTP_TIMEOUT_LIMITS_MS.max)) {
        throw new RangeError(`Invalid connection timeout: ${ms} ms`);
      }
    }
    const guard = new ConnectionGuard(options);
    try {
      guard.#listener = await guard.#transport.listen(
        options.host,
        options.port,
        (socket) => guard.#accept(socket),
        (error) => guard.#report(`accept failed: ${String(error)}`),
      );
    } catch (error) {
      throw new ListenError(options.host, options.port, error);
    }
    return guard;
  }

  get port(): number | undefined {
    return this.#listener?.port;
  }

  get stats(): Readonly<GuardStats> {
    return { ...this.#stats, open: this.#all.size };
  }

  /**
   * The browser's address behind a relayed connection, which the HTTP server on `serverPort`
   * sees coming from `relayPort`; undefined for any other peer.
   */
  remoteAddrOf(relayPort: number, serverPort: number): string | undefined {
    return this.#byRelay.get(relayKey(relayPort, serverPort))?.client.remoteAddress;
  }

  requestStarted(relayPort: number, serverPort: number): void {
    const connection = this.#byRelay.get(relayKey(relayPort, serverPort));
    if (!connection || connection.closed) return;
    if (!connection.served) {
      connection.served = true;
      this.#recheck();
    }
    connection.inFlight++;
    if (connection.phase !== "handling") {
      connection.phase = "handling";
      connection.handlingSince = performance.now();
      this.#waiting.delete(connection);
      this.#handling.add(connection);
      this.#arm(connection, this.#options.requestTimeoutMs);
    }
  }

  requestEnded(relayPort: number, serverPort: number): void {
    const connection = this.#byRelay.get(relayKey(relayPort, serverPort));
    if (!connection || connection.closed || connection.inFlight === 0) return;
    connection.inFlight--;
    if (connection.inFlight === 0) this.#enter(connection, "idle");
  }

  /** Stops accepting; open connections are left to the caller's HTTP server shutdown. */
  stopAccepting(): void {
    this.#listener?.close();
  }

  /** Closes every relayed connection at once. */
  closeAll(): void {
    for (const connection of [...this.#all]) this.#close(connection);
  }

  /**
   * Settles once no connection is open. A connection ends on its own once the HTTP server has
   * closed its side, everything it wrote has been relayed, and the browser has closed too.
   */
  allEnded(): Promise<void> {
    return this.#when(() => this.#all.size === 0);
  }

  /**
   * Settles once every connection relayed to the HTTP server on `serverPort` has started a
   * request or ended: that server may then close, as it closes only connections between requests
   * (a browser retries a request that a reused connection lost, not one on a new connection).
   */
  firstRequestsStarted(serverPort: number): Promise<void> {
    return this.#when(() => {
      for (const connection of this.#all) {
        if (connection.serverPort === serverPort && !connection.served) return false;
      }
      return true;
    });
  }

  #when(holds: () => boolean): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve) => this.#awaited.add({ holds, resolve }));
  }

  #recheck(): void {
    for (const waiter of this.#awaited) {
      if (!waiter.holds()) continue;
      this.#awaited.delete(waiter);
      waiter.resolve();
    }
  }

  #accept(client: RelaySocket): void {
    const clientKey = this.#options.isExempt(client.remoteAddress)
      ? undefined
      : addressGroup(client.remoteAddress);
    const held = clientKey === undefined ? 0 : this.#perClient.get(clientKey) ?? 0;
    if (
      held >= this.#options.maxConnectionsPerClient ||
      (this.#all.size >= this.#options.maxConnections && !this.#evictOne())
    ) {
      this.#stats.refused++;
      client.close();
      return;
    }
    if (clientKey !== undefined) this.#perClient.set(clientKey, held + 1);
    const serverPort = this.#options.targetPort();
    const connection: Connection = {
      client,
      clientKey,
      serverPort,
      relay: undefined,
      relayKey: undefined,
      served: false,
      phase: "idle",
      inFlight: 0,
      handlingSince: 0,
      deadline: 0,
      timer: undefined,
      timerAt: 0,
      closed: false,
    };
    this.#all.add(connection);
    this.#enter(connection, "idle");
    this.#transport.connect(serverPort).then(
      (relay) => this.#relay(connection, relay),
      (error) => {
        this.#report(`relay connection failed: ${String(error)}`);
        this.#close(connection);
      },
    );
  }

  #relay(connection: Connection, relay: RelaySocket): void {
    if (connection.closed) {
      relay.close();
      return;
    }
    connection.relay = relay;
    connection.relayKey = relayKey(relay.localPort, connection.serverPort);
    this.#byRelay.set(connection.relayKey, connection);
    const { client } = connection;
    // Each direction ends with a half-close of the other; the connection closes when both
    // have ended.
    const upstream = client.pump(async (chunk) => {
      if (connection.phase === "idle") this.#enter(connection, "receiving");
      await relay.write(chunk);
    }).then(() => relay.end());
    const downstream = relay.pump(async (chunk) => {
      if (connection.phase === "idle") this.#arm(connection, this.#options.idleTimeoutMs);
      await client.write(chunk);
    }).then(() => client.end());
    void Promise.all([upstream, downstream]).finally(() => this.#close(connection));
  }

  /** At most one report per REPORT_INTERVAL_MS: an attack must not flood the log. */
  #report(problem: string): void {
    const now = performance.now();
    if (now - this.#lastReport < REPORT_INTERVAL_MS) {
      this.#unreported++;
      return;
    }
    const more = this.#unreported > 0
      ? ` (and ${this.#unreported} more since the last report)`
      : "";
    this.#lastReport = now;
    this.#unreported = 0;
    this.#options.onProblem(problem + more);
  }

  #enter(connection: Connection, phase: "idle" | "receiving"): void {
    // A transport may hand over a chunk read just as the connection closed: back in #waiting it
    // would never leave, and eviction would pick it forever while new connections pass the cap.
    if (connection.closed) return;
    connection.phase = phase;
    this.#handling.delete(connection);
    // Re-inserted: the set stays ordered by the last phase change, oldest first.
    this.#waiting.delete(connection);
    this.#waiting.add(connection);
    this.#arm(
      connection,
      phase === "idle" ? this.#options.idleTimeoutMs : this.#options.headerTimeoutMs,
    );
  }

  /**
   * Moves the connection's deadline. Phases change several times per request, so the timer is
   * replaced only when the new deadline is earlier than the one it is due at; a timer that
   * fires before the deadline sets itself again for the rest.
   */
  #arm(connection: Connection, ms: number): void {
    // A timer on a closed connection would count it timed out again when it fires.
    if (connection.closed) return;
    const deadline = performance.now() + ms;
    connection.deadline = deadline;
    if (connection.timer !== undefined && connection.timerAt <= deadline) return;
    clearTimeout(connection.timer);
    this.#setTimer(connection, ms);
  }

  #setTimer(connection: Connection, ms: number): void {
    connection.timerAt = performance.now() + ms;
    connection.timer = setTimeout(() => {
      connection.timer = undefined;
      const left = connection.deadline - performance.now();
      if (left > 0) {
        this.#setTimer(connection, left);
        return;
      }
      this.#stats.timedOut++;
      this.#close(connection);
    }, ms);
  }

  /** Success only when a connection was open: a closed one frees no slot. */
  #evictOne(): boolean {
    let victim = firstOpen(this.#waiting);
    if (!victim) {
      const oldest = firstOpen(this.#handling);
      const overdue = oldest &&
        performance.now() - oldest.handlingSince > this.#options.headerTimeoutMs;
      victim = overdue ? oldest : undefined;
    }
    if (!victim) return false;
    this.#stats.evicted++;
    this.#close(victim);
    return true;
  }

  #close(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    clearTimeout(connection.timer);
    this.#all.delete(connection);
    this.#waiting.delete(connection);
    this.#handling.delete(connection);
    if (connection.clientKey !== undefined) {
      const held = (this.#perClient.get(connection.clientKey) ?? 1) - 1;
      if (held > 0) this.#perClient.set(connection.clientKey, held);
      else this.#perClient.delete(connection.clientKey);
    }
    const key = connection.relayKey;
    if (key !== undefined && this.#byRelay.get(key) === connection) this.#byRelay.delete(key);
    connection.client.close();
    connection.relay?.close();
    this.#recheck();
  }
}

/**
 * The first connection in `set` still open. #close takes a connection out of both sets and
 * nothing puts a closed one back; one found anyway is dropped, so it cannot stay first.
 */
function firstOpen(set: Set<Connection>): Connection | undefined {
  for (const connection of set) {
    if (!connection.closed) return connection;
    set.delete(connection);
  }
  return undefined;
}

/** One number for a relay socket's local port and the HTTP server's port it is connected to. */
function relayKey(relayPort: number, serverPort: number): number {
  return relayPort * 0x10000 + serverPort;
}

/**
 * A listen that failed, saying the address and why on either runtime: Bun's own words name
 * neither port nor reason ("Failed to listen at 0.0.0.0", the reason only in `code`), Deno's no
 * address ("Permission denied (os error 13)"). `code` stays the runtime's (EADDRINUSE: the
 * probe takes it for the running service).
 */
export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(host: string, port: number, error: unknown) {
    const message = errorText(error);
    const raw = (error as { code?: unknown })?.code;
    const code = typeof raw === "string" ? raw : undefined;
    const why = code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
    const address = hostAndPort(host, port);
    const hint = code === "EACCES" && port < 1024
      ? ": a port below 1024 needs CAP_NET_BIND_SERVICE, or a reverse proxy in front"
      : "";
    super(`Cannot listen on ${address}: ${why}${hint}`, { cause: error });
    this.name = "ListenError";
    this.code = code;
  }
}
