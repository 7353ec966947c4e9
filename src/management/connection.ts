/**
 * The socket adapter around the protocol core: one instance per OpenVPN server. It connects
 * (TCP or unix socket), answers the password prompt, learns the management version, releases
 * a hold, then offers pipelined commands (`send`) and delivers events (`onEvent`). When the
 * socket closes or fails it reconnects with capped, jittered exponential backoff; it never
 * exits the process.
 *
 * Events: `connected` (with the management version) comes before any event of that link;
 * events that arrive during the handshake are held back until then. `disconnected` follows
 * the last event of a link, so per-cid state can be dropped there. `connect-failed` reports
 * each failed attempt (e.g. `Management password rejected: bad password`).
 */
import { createConnection, type Socket } from "node:net";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Secret } from "../config/secret.ts";
import type { ManagementAddress } from "../config/types.ts";
import { getLogger } from "../log.ts";
import { formatAddress } from "./address.ts";
import { reconnectDelay } from "./backoff.ts";
import {
  holdQuery,
  holdRelease,
  type ManagementCommand,
  parseManagementVersion,
  passwordLine,
  version,
} from "./commands.ts";
import type { ManagementEvent, Reply, ReplyKind } from "./events.ts";
import { ManagementProtocol, type ProtocolLimits } from "./protocol.ts";

export type ManagementConnectionErrorCode =
  | "not-connected"
  | "timeout"
  | "disconnected"
  | "closed"
  | "unresponsive"
  | "no-greeting"
  | "password-required"
  | "password-rejected"
  | "handshake"
  | "socket";

export class ManagementConnectionError extends Error {
  override readonly name = "ManagementConnectionError";
  readonly code: ManagementConnectionErrorCode;

  constructor(code: ManagementConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export type ConnectionEvent =
  | ManagementEvent
  | { type: "connected"; managementVersion: number }
  | { type: "disconnected"; reason: string }
  | { type: "connect-failed"; error: ManagementConnectionError };

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
  /** Command deadlines, the greeting deadline and reconnect delays run on it. */
  clock: Clock;
  /** Returns [0, 1); used for backoff jitter. */
  random?: () => number;
  createSocket?: (address: ManagementAddress) => Socket;
}

type Phase = "connecting" | "greeting" | "authenticating" | "handshake" | "ready" | "closed";

interface PendingCommand {
  name: string;
  timeoutMs: number;
  /** When the command times out (ms since the epoch). */
  deadline: number;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Link {
  socket: Socket;
  core: ManagementProtocol;
  phase: Phase;
  pending: Map<number, PendingCommand>;
  /** Tickets whose command timed out: their late reply is matched and discarded. */
  overdue: Set<number>;
  early: ConnectionEvent[];
  /**
   * One wake-up timer for all command deadlines, armed for the earliest one and re-checked
   * when it fires; answers do not touch it. A timer per command (or re-arming it per answer)
   * cost more than the rest of a REAUTH.
   */
  deadlineTimer: TimerHandle | undefined;
  /** When the wake-up timer fires (ms since the epoch). */
  deadlineAt: number;
  /** Commands written in this turn of the event loop, sent as one write. */
  outbox: string;
  holdReleased: boolean;
  greetingTimer: TimerHandle | undefined;
  failure: ManagementConnectionError | undefined;
  managementVersion: number | undefined;
}

const MAX_EARLY_EVENTS = 4096;

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
  #reconnectTimer: TimerHandle | undefined;
  #lastError: string | undefined;
  #closeWaiters: Array<() => void> = [];

  constructor(options: ManagementConnectionOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#createSocket = options.createSocket ?? defaultCreateSocket;
    this.#addressText = formatAddress(options.address);
    this.#log = getLogger("management").with({ server: options.name ?? this.#addressText });
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
    const link = this.#link;
    const linkUp = link?.phase === "ready";
    return {
      linkUp,
      managementVersion: linkUp ? link?.managementVersion : undefined,
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
    if (link === undefined || link.phase !== "ready") {
      return Promise.reject(
        new ManagementConnectionError(
          "not-connected",
          `Management interface not connected: cannot send ${command.name}`,
        ),
      );
    }
    return this.#request(
      link,
      command.reply,
      command.name,
      () => `${command.text}\n`,
      options.timeoutMs,
    );
  }

  /** Stops reconnecting, fails pending commands and closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer !== undefined) {
      this.#clock.clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = undefined;
    }
    const link = this.#link;
    if (link === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    link.failure ??= new ManagementConnectionError("closed", "Management connection closed");
    if (link.phase === "connecting") {
      link.socket.destroy();
    } else {
      if (link.outbox !== "") link.socket.write(link.outbox);
      link.outbox = "";
      link.socket.end(() => link.socket.destroy());
    }
    return done;
  }

  #connect(): void {
    const attempt = this.#failures + 1;
    this.#log.info("Connecting to OpenVPN management interface {address} (attempt {attempt})", {
      address: this.#addressText,
      attempt,
    });
    let socket: Socket;
    try {
      socket = this.#createSocket(this.#options.address);
    } catch (error) {
      const failure = new ManagementConnectionError(
        "socket",
        `Management socket failed: ${String(error)}`,
        {
          cause: error,
        },
      );
      this.#afterLink(failure, false);
      return;
    }
    socket.setEncoding("utf8");
    const link: Link = {
      socket,
      core: new ManagementProtocol(this.#options.limits),
      phase: "connecting",
      pending: new Map(),
      overdue: new Set(),
      early: [],
      deadlineTimer: undefined,
      deadlineAt: Infinity,
      outbox: "",
      holdReleased: false,
      greetingTimer: undefined,
      failure: undefined,
      managementVersion: undefined,
    };
    this.#link = link;
    link.greetingTimer = this.#clock.setTimeout(() => {
      link.greetingTimer = undefined;
      this.#fail(
        link,
        new ManagementConnectionError(
          "no-greeting",
          `Management interface did not greet within ${this.#options.commandTimeoutMs} ms: is another client connected?`,
        ),
      );
    }, this.#options.commandTimeoutMs);
    socket.on("connect", () => {
      if (link.phase === "connecting") link.phase = "greeting";
    });
    socket.on("data", (chunk: string) => this.#onData(link, chunk));
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

  #fail(link: Link, error: ManagementConnectionError): void {
    link.failure ??= error;
    link.socket.destroy();
  }

  #onData(link: Link, chunk: string): void {
    if (link.phase === "closed") return;
    const { events, replies } = link.core.push(chunk);
    for (const reply of replies) this.#onReply(link, reply);
    for (const event of events) this.#onEvent(link, event);
  }

  #onReply(link: Link, reply: Reply): void {
    if (link.overdue.delete(reply.ticket)) {
      this.#log.debug("Discarded the late reply to a timed-out command");
      return;
    }
    const pending = link.pending.get(reply.ticket);
    if (pending === undefined) return;
    link.pending.delete(reply.ticket);
    pending.resolve(reply);
  }

  #onEvent(link: Link, event: ManagementEvent): void {
    switch (event.type) {
      case "password-prompt":
        if (link.phase === "greeting") this.#sendPassword(link);
        return; // repeated prompts after a rejected password are handled with the reply
      case "info":
        if (link.phase === "greeting") this.#handshake(link);
        break;
      case "hold":
        if (!link.holdReleased && (link.phase === "handshake" || link.phase === "ready")) {
          this.#releaseHold(link).catch(() => {});
        }
        break;
      case "warning":
        this.#log.warn("Management protocol: {message}", {
          message: event.message,
          code: event.code,
        });
        break;
    }
    this.#deliver(link, event);
  }

  #deliver(link: Link, event: ConnectionEvent): void {
    if (link.phase === "ready") {
      this.#emit(event);
    } else if (link.early.length < MAX_EARLY_EVENTS) {
      link.early.push(event);
    } else {
      this.#log.error("Dropped a management event received during the handshake: too many queued");
    }
  }

  #emit(event: ConnectionEvent): void {
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

  #request(
    link: Link,
    kind: ReplyKind,
    name: string,
    text: () => string,
    timeoutMs = this.#options.commandTimeoutMs,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      let line: string;
      try {
        line = text();
      } catch (error) {
        reject(error);
        return;
      }
      const ticket = link.core.expect(kind);
      const deadline = this.#clock.now() + timeoutMs;
      link.pending.set(ticket, { name, timeoutMs, deadline, resolve, reject });
      if (deadline < link.deadlineAt) this.#wakeAt(link, deadline);
      this.#write(link, line);
    });
  }

  /** Queues text for the socket; everything queued in one turn goes out as one write. */
  #write(link: Link, text: string): void {
    if (link.outbox === "") {
      queueMicrotask(() => {
        const batch = link.outbox;
        link.outbox = "";
        if (batch !== "" && link.phase !== "closed") link.socket.write(batch);
      });
    }
    link.outbox += text;
  }

  #wakeAt(link: Link, at: number): void {
    if (link.deadlineTimer !== undefined) this.#clock.clearTimeout(link.deadlineTimer);
    link.deadlineAt = at;
    link.deadlineTimer = this.#clock.setTimeout(
      () => this.#onDeadline(link),
      Math.max(0, at - this.#clock.now()),
    );
  }

  #stopDeadlines(link: Link): void {
    if (link.deadlineTimer !== undefined) this.#clock.clearTimeout(link.deadlineTimer);
    link.deadlineTimer = undefined;
    link.deadlineAt = Infinity;
  }

  /** Fails every command past its deadline, then sleeps until the next deadline. */
  #onDeadline(link: Link): void {
    link.deadlineTimer = undefined;
    link.deadlineAt = Infinity;
    const now = this.#clock.now();
    let next = Infinity;
    for (const [id, pending] of link.pending) {
      if (pending.deadline > now) {
        next = Math.min(next, pending.deadline);
        continue;
      }
      link.pending.delete(id);
      link.overdue.add(id);
      pending.reject(
        new ManagementConnectionError(
          "timeout",
          `Management command timed out after ${pending.timeoutMs} ms: ${pending.name}`,
        ),
      );
    }
    const limit = this.#options.maxOverdueReplies ?? 3;
    if (link.overdue.size >= limit) {
      this.#fail(
        link,
        new ManagementConnectionError(
          "unresponsive",
          `Management interface unresponsive: ${link.overdue.size} replies overdue`,
        ),
      );
      return;
    }
    if (next !== Infinity) this.#wakeAt(link, next);
  }

  #sendPassword(link: Link): void {
    this.#clearGreetingTimer(link);
    const password = this.#options.password;
    if (password === undefined) {
      this.#fail(
        link,
        new ManagementConnectionError(
          "password-required",
          "Management password required: the interface asks for one but none is configured",
        ),
      );
      return;
    }
    link.phase = "authenticating";
    this.#request(link, "single", "password", () => passwordLine(password)).then(
      (reply) => {
        if (reply.type === "success") {
          this.#handshake(link);
        } else {
          const detail = reply.type === "error" ? reply.message : "unexpected reply";
          this.#fail(
            link,
            new ManagementConnectionError(
              "password-rejected",
              `Management password rejected: ${detail}`,
            ),
          );
        }
      },
      (error: Error) =>
        this.#fail(
          link,
          asConnectionError(error, "password-rejected", "Management password not accepted"),
        ),
    );
  }

  #handshake(link: Link): void {
    if (link.phase !== "greeting" && link.phase !== "authenticating") return;
    link.phase = "handshake";
    this.#clearGreetingTimer(link);
    const run = async () => {
      const versionReply = await this.#request(
        link,
        "multi",
        "version",
        () => `${version().text}\n`,
      );
      const managementVersion = versionReply.type === "lines"
        ? parseManagementVersion(versionReply.lines)
        : undefined;
      if (managementVersion === undefined) {
        throw new ManagementConnectionError(
          "handshake",
          "Management handshake failed: no Management Version in the version reply",
        );
      }
      link.managementVersion = managementVersion;
      const hold = await this.#request(link, "single", "hold", () => `${holdQuery().text}\n`);
      if (hold.type === "success" && hold.message === "hold=1" && !link.holdReleased) {
        await this.#releaseHold(link);
      }
      if (link.phase !== "handshake") return;
      link.phase = "ready";
      this.#failures = 0;
      this.#lastError = undefined;
      this.#log.info(
        "Connected to OpenVPN management interface {address} (management version {version})",
        {
          address: this.#addressText,
          version: managementVersion,
        },
      );
      this.#emit({ type: "connected", managementVersion });
      const early = link.early;
      link.early = [];
      for (const event of early) {
        if (link.phase !== "ready") break;
        this.#emit(event);
      }
    };
    run().catch((error: Error) =>
      this.#fail(link, asConnectionError(error, "handshake", "Management handshake failed"))
    );
  }

  async #releaseHold(link: Link): Promise<void> {
    link.holdReleased = true;
    this.#log.info("Releasing OpenVPN hold");
    const reply = await this.#request(
      link,
      "single",
      "hold release",
      () => `${holdRelease().text}\n`,
    );
    if (reply.type !== "success") {
      this.#log.warn("OpenVPN did not release its hold: {message}", {
        message: reply.type === "error" ? reply.message : "",
      });
    }
  }

  #clearGreetingTimer(link: Link): void {
    if (link.greetingTimer !== undefined) {
      this.#clock.clearTimeout(link.greetingTimer);
      link.greetingTimer = undefined;
    }
  }

  #onClose(link: Link): void {
    if (this.#link !== link) return;
    this.#link = undefined;
    this.#clearGreetingTimer(link);
    const wasReady = link.phase === "ready";
    link.phase = "closed";
    const failure = link.failure ??
      new ManagementConnectionError(
        this.#closed ? "closed" : "disconnected",
        this.#closed ? "Management connection closed" : "Management connection closed by OpenVPN",
      );
    const { events } = link.core.reset();
    for (const event of events) {
      if (event.type === "warning") {
        this.#log.warn("Management protocol: {message}", { message: event.message });
      }
      if (wasReady) this.#emit(event);
    }
    this.#stopDeadlines(link);
    for (const pending of link.pending.values()) {
      pending.reject(
        new ManagementConnectionError(
          this.#closed ? "closed" : "disconnected",
          `Management connection lost before the reply: ${pending.name}`,
          { cause: failure },
        ),
      );
    }
    link.pending.clear();
    this.#afterLink(failure, wasReady);
  }

  #afterLink(failure: ManagementConnectionError, wasReady: boolean): void {
    if (wasReady) {
      this.#log.warn("Management link to {address} down: {reason}", {
        address: this.#addressText,
        reason: failure.message,
      });
      this.#emit({ type: "disconnected", reason: failure.message });
    } else if (!this.#closed) {
      this.#log.warn("Management connection to {address} failed: {reason}", {
        address: this.#addressText,
        reason: failure.message,
      });
      this.#emit({ type: "connect-failed", error: failure });
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
    this.#log.info("Reconnecting to {address} in {delay} ms", {
      address: this.#addressText,
      delay,
    });
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#closed) this.#connect();
    }, delay);
  }
}

function asConnectionError(
  error: unknown,
  code: ManagementConnectionErrorCode,
  prefix: string,
): ManagementConnectionError {
  if (error instanceof ManagementConnectionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ManagementConnectionError(code, `${prefix}: ${message}`, { cause: error });
}
