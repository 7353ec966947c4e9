/**
 * The socket adapter around the link core: one instance per OpenVPN server. It connects (TCP or
 * unix socket), moves bytes between the socket and `LinkCore` (which runs the handshake, matches
 * replies and keeps the deadlines), wakes the core when a deadline is due, and reconnects with
 * capped, jittered exponential backoff when the socket closes or fails; it never exits the
 * process.
 *
 * Events: `connected` (with the management version) comes before any event of that link;
 * `disconnected` follows the last event of a link, so per-cid state can be dropped there.
 * `connect-failed` reports each failed attempt (e.g. `Management password rejected: bad
 * password`).
 */
import { createConnection, type Socket } from "node:net";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Secret } from "../config/secret.ts";
import type { ManagementAddress } from "../config/types.ts";
import { getLogger, words } from "../log.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { formatAddress } from "./address.ts";
import { reconnectDelay } from "./backoff.ts";
import type { ManagementCommand } from "./commands.ts";
import { ManagementConnectionError, type ManagementConnectionErrorCode } from "./errors.ts";
import type { Reply } from "./events.ts";
import { type ConnectionEvent, LinkCore } from "./link_core.ts";
import type { ProtocolLimits } from "./protocol.ts";
import { errorText } from "../error_text.ts";

export type { ConnectionEvent };

/** Called without awaiting: a slow or failing handler never delays the next event. */
export type ConnectionEventHandler = (event: ConnectionEvent) => void | Promise<void>;

export interface ConnectionStatus {
  /** True once the handshake finished, until the socket closes. */
  linkUp: boolean;
  /** The server's management version while the link is up. */
  managementVersion: number | undefined;
  /** Why the last attempt or link failed; cleared when a link comes up. */
  lastError: string | undefined;
}

/**
 * `command_timeout`: at 0 every command (the greeting too) times out; past ~24.8 days a timer
 * fires at once.
 */
export const COMMAND_TIMEOUT_LIMITS_MS = { min: 100, max: 600_000 } as const;
/** `reconnect_max_delay`: at 0 a server that is down is reconnected to in a loop. */
export const RECONNECT_MAX_DELAY_LIMITS_MS = { min: 100, max: 3_600_000 } as const;

/**
 * What the warning of a connection that failed before a link came up asks of the operator, by
 * why it failed: a socket that could not connect is an OpenVPN that is down or listens elsewhere.
 */
function attemptAdvice(code: ManagementConnectionErrorCode): string | undefined {
  if (code !== "socket") return undefined;
  return "is OpenVPN running, and is this its --management address (openvpn.management)?";
}

export interface ManagementConnectionOptions {
  address: ManagementAddress;
  password?: Secret | undefined;
  /** How long a command (and the greeting) may take before its promise rejects. */
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
  /** First reconnect delay before jitter; doubles per failed attempt. Default 200. */
  reconnectMinDelayMs?: number;
  /**
   * Overdue replies tolerated before the link counts as stuck and is reconnected (a reply
   * that never comes would otherwise shift every later reply). Default 3.
   */
  maxOverdueReplies?: number;
  /** Names this server in logs. */
  name?: string;
  limits?: Partial<ProtocolLimits>;
  /**
   * Command deadlines, the greeting deadline and reconnect delays run on it: deadlines on its
   * `monotonic()`, so that stepping the wall clock neither fails the commands in flight nor lets
   * one OpenVPN never answers wait for the length of the step.
   */
  clock: Clock;
  /** Returns [0, 1); used for backoff jitter. */
  random?: () => number;
  createSocket?: (address: ManagementAddress) => Socket;
  /**
   * Fencing: asked right before every write to the socket. When it says no, nothing is
   * written and the link is closed (another bridge instance may hold OpenVPN's lease now).
   */
  mayWrite?: () => boolean;
}

/** One socket and the core of its link. */
interface Link {
  socket: Socket;
  core: LinkCore;
  /** The socket connected (before that, closing destroys it instead of ending it). */
  opened: boolean;
  closed: boolean;
  /** Why this link is being closed, when we close it. */
  failure: ManagementConnectionError | undefined;
  /** Closed by close() while nothing else had failed it: a stop we asked for. */
  stopped: boolean;
  /**
   * One wake-up timer for all deadlines, armed for the earliest and re-checked when it fires;
   * answers do not touch it. A timer per command (or re-arming per answer) cost more than the
   * rest of a REAUTH.
   */
  wakeTimer: TimerHandle | undefined;
  wakeAt: number;
  /** Commands written in this turn of the event loop, sent as one write. */
  outbox: string;
}

function defaultCreateSocket(address: ManagementAddress): Socket {
  return address.kind === "unix"
    ? createConnection({ path: address.path })
    : createConnection({ host: address.host, port: address.port });
}

export class ManagementConnection {
  readonly #options: ManagementConnectionOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #createSocket: (address: ManagementAddress) => Socket;
  readonly #log;
  readonly #addressText: string;
  readonly #handlers = new Set<ConnectionEventHandler>();
  #link: Link | undefined;
  #started = false;
  #closed = false;
  #failures = 0;
  /**
   * Failed attempts to a server that stays down: the first of an outage warns, then one warning
   * a minute with how many failed between, those at debug. A warning per attempt, with the
   * default reconnect_max_delay, was some 120 an hour for one server left stopped.
   */
  #attemptWarnings: WarningInterval;
  #reconnectTimer: TimerHandle | undefined;
  #lastError: string | undefined;
  #closeWaiters: Array<() => void> = [];

  constructor(options: ManagementConnectionOptions) {
    checkWithin("command timeout", options.commandTimeoutMs, COMMAND_TIMEOUT_LIMITS_MS);
    checkWithin("reconnect delay", options.reconnectMaxDelayMs, RECONNECT_MAX_DELAY_LIMITS_MS);
    this.#options = options;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#createSocket = options.createSocket ?? defaultCreateSocket;
    this.#addressText = formatAddress(options.address);
    this.#log = getLogger("management").with({ server: options.name ?? this.#addressText });
    this.#attemptWarnings = this.#newAttemptWarnings();
  }

  /** On the monotonic clock: a step of the wall clock neither hides nor repeats a warning. */
  #newAttemptWarnings(): WarningInterval {
    return new WarningInterval(WARNING_INTERVAL_MS, () => this.#clock.monotonic());
  }

  /** Starts connecting (and reconnecting until `close()`). Calling it again does nothing. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#connect();
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(handler: ConnectionEventHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  status(): ConnectionStatus {
    const core = this.#link?.core;
    const linkUp = core?.ready === true;
    return {
      linkUp,
      managementVersion: linkUp ? core.managementVersion : undefined,
      lastError: this.#lastError,
    };
  }

  /**
   * Writes a command and resolves with its reply, including `ERROR:` replies (type `error`).
   * Rejects with `ManagementConnectionError` when the link is not up, the command times out,
   * or the connection drops before the reply. Commands may be pipelined.
   */
  send(command: ManagementCommand, options: { timeoutMs?: number } = {}): Promise<Reply> {
    const link = this.#link;
    if (link === undefined || !link.core.ready) {
      return Promise.reject(
        new ManagementConnectionError(
          "not-connected",
          `Management interface not connected: cannot send ${command.name}`,
        ),
      );
    }
    // Refused here, before it is queued, the command is known not to have been written: a
    // cluster may hand it to the next holder. (A refusal at the flush fails the whole link.)
    if (this.#options.mayWrite !== undefined && !this.#options.mayWrite()) {
      this.#log.warning("Not written: this instance lost the lease ({command})", {
        command: command.name,
      });
      return Promise.reject(
        new ManagementConnectionError(
          "not-written",
          `Not written: this instance lost the lease: ${command.name}`,
        ),
      );
    }
    return new Promise<Reply>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#options.commandTimeoutMs;
      link.core.request(command, timeoutMs, this.#clock.monotonic(), resolve, reject);
      this.#rearm(link);
    });
  }

  /** Stops reconnecting, fails pending commands and closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const link = this.#link;
    if (link === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    if (link.failure === undefined) {
      link.failure = new ManagementConnectionError("closed", "Management connection closed");
      link.stopped = true;
    }
    if (!link.opened) {
      link.socket.destroy();
    } else {
      if (link.outbox !== "" && !this.#fenced(link)) link.socket.write(link.outbox);
      link.outbox = "";
      link.socket.end(() => link.socket.destroy());
    }
    return done;
  }

  #connect(): void {
    const attempt = this.#failures + 1;
    // The first at the start; a reconnect's are told by the failures' warnings and the link up.
    this.#log[attempt === 1 ? "info" : "debug"](
      "Connecting to OpenVPN management interface {address} (attempt {attempt})",
      { address: this.#addressText, attempt },
    );
    let socket: Socket;
    try {
      socket = this.#createSocket(this.#options.address);
    } catch (error) {
      const message = errorText(error);
      const failure = new ManagementConnectionError(
        "socket",
        `Management socket failed: ${message}`,
        { cause: error },
      );
      this.#afterLink(failure, false);
      return;
    }
    socket.setEncoding("utf8");
    const link: Link = {
      socket,
      core: undefined!, // set below: its port needs the link
      opened: false,
      closed: false,
      failure: undefined,
      stopped: false,
      wakeTimer: undefined,
      wakeAt: Infinity,
      outbox: "",
    };
    link.core = new LinkCore(
      {
        write: (text) => this.#write(link, text),
        deliver: (event) => this.#deliver(event),
        fail: (error) => this.#fail(link, error),
      },
      {
        password: this.#options.password,
        commandTimeoutMs: this.#options.commandTimeoutMs,
        maxOverdueReplies: this.#options.maxOverdueReplies ?? 3,
        limits: this.#options.limits,
        log: this.#log,
      },
      this.#clock.monotonic(),
    );
    this.#link = link;
    this.#rearm(link);
    socket.on("connect", () => (link.opened = true));
    socket.on("data", (chunk: string) => {
      if (link.closed) return;
      link.core.receive(chunk, this.#clock.monotonic());
      this.#rearm(link);
    });
    socket.on("error", (error: Error) => {
      this.#fail(
        link,
        new ManagementConnectionError("socket", `Management socket error: ${error.message}`, {
          cause: error,
        }),
      );
    });
    socket.on("close", () => this.#onClose(link));
  }

  /** True (and the link failed, its text dropped) when fencing forbids writing now. */
  #fenced(link: Link): boolean {
    if (this.#options.mayWrite === undefined || this.#options.mayWrite()) return false;
    link.outbox = "";
    this.#fail(
      link,
      new ManagementConnectionError("closed", "Not written: this instance lost the lease"),
    );
    return true;
  }

  #fail(link: Link, error: ManagementConnectionError): void {
    link.failure ??= error;
    link.socket.destroy();
  }

  #deliver(event: ConnectionEvent): void {
    if (event.type === "connected") {
      this.#failures = 0;
      // The next outage's first failure warns again, however soon it comes.
      this.#attemptWarnings = this.#newAttemptWarnings();
      this.#lastError = undefined;
      this.#log.info(
        "Connected to OpenVPN management interface {address} (management version {version})",
        { address: this.#addressText, version: event.managementVersion },
      );
    }
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) {
          result.catch((error) =>
            this.#log.error("Management event handler failed: {error}", { error })
          );
        }
      } catch (error) {
        this.#log.error("Management event handler failed: {error}", { error });
      }
    }
  }

  /** Queues text for the socket; everything queued in one turn goes out as one write. */
  #write(link: Link, text: string): void {
    if (link.outbox === "") {
      queueMicrotask(() => {
        const batch = link.outbox;
        link.outbox = "";
        if (batch === "" || link.closed) return;
        if (this.#fenced(link)) return;
        link.socket.write(batch);
      });
    }
    link.outbox += text;
  }

  /**
   * Arms the wake-up timer when the core now needs waking earlier than it is armed for. It is
   * armed at most a longest command timeout ahead: a longer `send()` timeout wakes the core early,
   * which expires nothing and arms again, where a delay past the timer limit would fire at once.
   */
  #rearm(link: Link): void {
    const at = link.core.wakeAt;
    if (at >= link.wakeAt || link.closed) return;
    this.#clock.clearTimeout(link.wakeTimer);
    link.wakeAt = at;
    link.wakeTimer = this.#clock.setTimeout(() => {
      link.wakeTimer = undefined;
      link.wakeAt = Infinity;
      link.core.expire(this.#clock.monotonic());
      this.#rearm(link);
    }, Math.min(COMMAND_TIMEOUT_LIMITS_MS.max, Math.max(0, at - this.#clock.monotonic())));
  }

  #onClose(link: Link): void {
    if (this.#link !== link) return;
    this.#link = undefined;
    link.closed = true;
    this.#clock.clearTimeout(link.wakeTimer);
    link.wakeTimer = undefined;
    const code = this.#closed ? "closed" : "disconnected";
    const failure = link.failure ??
      new ManagementConnectionError(
        code,
        this.#closed ? "Management connection closed" : "Management connection closed by OpenVPN",
      );
    const wasReady = link.core.close(code, failure);
    this.#afterLink(failure, wasReady, link.stopped);
  }

  /** `stopped`: the link went down because we closed it (a stop), not because it failed. */
  #afterLink(failure: ManagementConnectionError, wasReady: boolean, stopped = false): void {
    if (wasReady) {
      // A stop we asked for is no warning: every clean shutdown logged one.
      const down = { address: this.#addressText, reason: failure.message };
      if (stopped) this.#log.info("Management link to {address} closed: {reason}", down);
      else this.#log.warn("Management link to {address} down: {reason}", down);
      this.#deliver({ type: "disconnected", reason: failure.message });
    } else if (!this.#closed) {
      const advice = attemptAdvice(failure.code);
      logDue(
        this.#attemptWarnings,
        this.#log,
        "warning",
        "Management connection to {address} failed: {reason}" +
          (advice === undefined ? "" : "; {advice}"),
        {
          address: this.#addressText,
          reason: failure.message,
          ...(advice === undefined ? {} : { advice: words(advice) }),
        },
      );
      this.#deliver({ type: "connect-failed", error: failure });
    }
    if (!this.#closed) this.#lastError = failure.message;
    if (this.#closed) {
      const waiters = this.#closeWaiters;
      this.#closeWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    // A rejected password will not get better by retrying quickly.
    const delay = failure.code === "password-rejected" || failure.code === "password-required"
      ? this.#options.reconnectMaxDelayMs
      : reconnectDelay(
        this.#failures,
        {
          minMs: this.#options.reconnectMinDelayMs ?? 200,
          maxMs: this.#options.reconnectMaxDelayMs,
        },
        this.#random,
      );
    this.#failures++;
    this.#log.debug("Reconnecting to {address} in {delay} ms", {
      address: this.#addressText,
      delay,
    });
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#closed) this.#connect();
    }, delay);
  }
}

function checkWithin(what: string, ms: number, limits: { min: number; max: number }): void {
  if (!(ms >= limits.min && ms <= limits.max)) {
    throw new RangeError(`Invalid ${what}: ${ms} ms (${limits.min} to ${limits.max})`);
  }
}
