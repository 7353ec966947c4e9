/**
 * One management link without I/O: the protocol parser, the handshake, the commands in flight
 * with their deadlines, and the events held back until the link is up. The socket adapter
 * (`connection.ts`) feeds it the text it reads and the time; the core handles the events and
 * replies in it in the order they were read, and answers through a port, synchronously and in
 * order: text to write, events to deliver, "drop this link". No sockets, no timers: tests drive
 * it with recorded transcripts and plain numbers for time. Every `now` is read from one clock
 * that is never stepped (the adapter's `clock.monotonic()`): deadlines are durations on this
 * host, and a wall clock stepped forward would time out every command at once.
 *
 * Events: `connected` (with the management version) comes before any other event of the link;
 * events that arrive during the handshake are held back until then (bounded). After `close()`
 * nothing more is delivered.
 */
import type { Logger } from "@logtape/logtape";
import type { Secret } from "../config/secret.ts";
import { type ManagementCommand, passwordLine } from "./commands.ts";
import { asConnectionError, ManagementConnectionError } from "./errors.ts";
import type { ManagementEvent, Reply, ReplyKind } from "./events.ts";
import { Handshake, type HandshakeStep } from "./handshake.ts";
import type { OpenvpnState } from "./openvpn_run.ts";
import { PendingCommands } from "./pending_commands.ts";
import { ManagementProtocol, type ProtocolLimits } from "./protocol.ts";

export type ConnectionEvent =
  | ManagementEvent
  /**
   * The link is up. `openvpnPid` and `openvpnStates`, OpenVPN's state history (oldest first),
   * name OpenVPN's run (openvpn_run.ts); undefined when OpenVPN did not tell them. Every
   * `state` event of the link comes after the history: none is in it.
   */
  | {
    type: "connected";
    managementVersion: number;
    openvpnPid: number | undefined;
    openvpnStates: OpenvpnState[] | undefined;
  }
  | { type: "disconnected"; reason: string }
  | { type: "connect-failed"; error: ManagementConnectionError };

export interface LinkPort {
  /** Text for the socket, line ends included. */
  write(text: string): void;
  deliver(event: ConnectionEvent): void;
  /** The link is unusable: close the socket (then call `close()`). */
  fail(error: ManagementConnectionError): void;
}

export interface LinkOptions {
  password: Secret | undefined;
  /** How long a command (and the greeting) may take. */
  commandTimeoutMs: number;
  /** Overdue replies tolerated before the link counts as stuck. */
  maxOverdueReplies: number;
  limits?: Partial<ProtocolLimits> | undefined;
  log: Logger;
}

const MAX_EARLY_EVENTS = 4096;

export class LinkCore {
  readonly #port: LinkPort;
  readonly #options: LinkOptions;
  readonly #core: ManagementProtocol;
  readonly #handshake: Handshake;
  readonly #pending = new PendingCommands();
  /** Tickets whose command timed out: their late reply is matched and discarded. */
  readonly #overdue = new Set<number>();
  #early: ConnectionEvent[] = [];
  /** Events dropped since the handshake began, past MAX_EARLY_EVENTS: logged once, counted. */
  #droppedEarly = 0;
  /** No command deadline before this (a lower bound: answers do not raise it). */
  #commandWakeAt = Infinity;
  #now: number;
  #failed = false;
  #closed = false;
  #managementVersion: number | undefined;

  /**
   * `now`: when the connection was opened (the greeting is due a command timeout later), on the
   * monotonic clock every later `now` is read from.
   */
  constructor(port: LinkPort, options: LinkOptions, now: number) {
    this.#port = port;
    this.#options = options;
    this.#now = now;
    this.#core = new ManagementProtocol(options.limits);
    this.#handshake = new Handshake(
      { hasPassword: options.password !== undefined, timeoutMs: options.commandTimeoutMs },
      now,
    );
  }

  /** True once the handshake finished, until the link fails or closes. */
  get ready(): boolean {
    return this.#handshake.ready && !this.#failed && !this.#closed;
  }

  /** The server's management version, once the handshake learned it. */
  get managementVersion(): number | undefined {
    return this.#managementVersion;
  }

  /** When `expire()` must run next (Infinity: nothing to time). */
  get wakeAt(): number {
    return Math.min(this.#commandWakeAt, this.#handshake.deadline);
  }

  /** Feeds text read from the socket (any chunking). */
  receive(chunk: string, now: number): void {
    if (this.#failed || this.#closed) return;
    this.#now = now;
    const { events, replies } = this.#core.push(chunk);
    // In the order they were read: a reply moves the handshake on, and an event means what it
    // means on its side of it (a `>STATE:` line before the reply to `state all` is in that
    // history, one after it is not). Replies all first, such a line counted twice.
    let next = 0;
    for (let i = 0; i < events.length; i++) {
      while (next < replies.length && this.#core.eventsBefore(next) <= i) {
        this.#onReply(replies[next++]!);
      }
      if (this.#failed) {
        // An event or a reply can fail the link; the events after it in the same read can no
        // longer be answered on this link, and OpenVPN does not send them again on the next.
        this.#options.log.warn(
          "Management link failed: {count} events read after the failure were dropped (a " +
            "client among them is answered when it tries again)",
          { count: events.length - i },
        );
        break;
      }
      this.#onEvent(events[i]!);
    }
    // A reply read after a failure still tells its command what OpenVPN did.
    while (next < replies.length) this.#onReply(replies[next++]!);
  }

  /**
   * Writes a command; `resolve` gets its reply, `reject` why there is none. Only once `ready`.
   * (Two functions rather than an object: this runs once per answer to OpenVPN.)
   */
  request(
    command: ManagementCommand,
    timeoutMs: number,
    now: number,
    resolve: (reply: Reply) => void,
    reject: (error: ManagementConnectionError) => void,
  ): void {
    this.#now = now;
    this.#issue(command.reply, command.name, `${command.text}\n`, timeoutMs, resolve, reject);
  }

  /** Fails every command past its deadline (and a greeting that is overdue). */
  expire(now: number): void {
    if (this.#failed || this.#closed) return;
    this.#now = now;
    this.#step(this.#handshake.onTime(now));
    const { expired, nextDeadline } = this.#pending.takeExpired(now);
    for (const pending of expired) {
      this.#overdue.add(pending.ticket);
      pending.reject(
        new ManagementConnectionError(
          "timeout",
          `Management command timed out after ${pending.timeoutMs} ms: ${pending.name}`,
        ),
      );
    }
    this.#commandWakeAt = nextDeadline;
    if (this.#overdue.size >= this.#options.maxOverdueReplies) {
      this.#fail(
        new ManagementConnectionError(
          "unresponsive",
          `Management interface unresponsive: ${this.#overdue.size} replies overdue`,
        ),
      );
    }
  }

  /**
   * The socket closed: an open `>CLIENT:` block is reported (delivered if the link was up,
   * logged otherwise) and every command still waiting is rejected with `code`, `cause` saying
   * why the link ended. Returns whether the link had come up.
   */
  close(code: "closed" | "disconnected", cause: ManagementConnectionError): boolean {
    if (this.#closed) return false;
    // A link that failed after coming up was up: its consumers saw `connected`.
    const wasReady = this.#handshake.ready;
    this.#closed = true;
    const { events } = this.#core.reset();
    // Events of a link that never came up reach nobody: their warnings are logged here.
    const undelivered = wasReady ? [] : this.#early;
    this.#early = [];
    this.#reportDroppedEarly();
    for (const event of [...undelivered, ...events]) {
      if (wasReady) this.#port.deliver(event);
      else if (event.type === "warning") {
        this.#options.log.warn("Management protocol: {message}", { message: event.message });
      }
    }
    for (const pending of this.#pending.takeAll()) {
      pending.reject(
        new ManagementConnectionError(
          code,
          `Management connection lost before the reply: ${pending.name}`,
          { cause },
        ),
      );
    }
    this.#overdue.clear();
    return wasReady;
  }

  #issue(
    kind: ReplyKind,
    name: string,
    line: string,
    timeoutMs: number,
    resolve: (reply: Reply) => void,
    reject: (error: ManagementConnectionError) => void,
  ): void {
    const ticket = this.#core.expect(kind);
    const deadline = this.#now + timeoutMs;
    this.#pending.add({ ticket, name, timeoutMs, deadline, resolve, reject });
    if (deadline < this.#commandWakeAt) this.#commandWakeAt = deadline;
    this.#port.write(line);
  }

  #onReply(reply: Reply): void {
    if (this.#overdue.delete(reply.ticket)) {
      this.#options.log.debug("Discarded the late reply to a timed-out command");
      return;
    }
    this.#pending.take(reply.ticket)?.resolve(reply);
  }

  #onEvent(event: ManagementEvent): void {
    switch (event.type) {
      case "password-prompt":
        this.#step(this.#handshake.onEvent(event));
        return; // the handshake's business only
      case "info":
      case "hold":
        this.#step(this.#handshake.onEvent(event));
        break;
      case "state":
        // Before OpenVPN answered `state all`, a state is in the history that answer prints:
        // delivered too, it would count twice in the run's name (openvpn_run.ts).
        if (!this.#handshake.statesTold) return;
        break;
      case "warning":
        if (event.code === "out-of-step") {
          // No later reply can be given to its command: the commands in flight end as on any
          // drop (outcome unknown), and the next link starts in step. The failure is the one
          // log line (connection.ts), with what was expected and what came.
          this.#fail(new ManagementConnectionError("out-of-step", event.message));
          return;
        }
        break;
    }
    this.#deliver(event);
  }

  #deliver(event: ConnectionEvent): void {
    if (this.ready) {
      this.#port.deliver(event);
    } else if (this.#early.length < MAX_EARLY_EVENTS) {
      this.#early.push(event);
    } else if (this.#droppedEarly++ === 0) {
      // Once, not per event: a peer that floods the link before it is up would flood the log.
      this.#options.log.error(
        "Dropping management events received during the handshake: more than {max} queued " +
          "(the count follows once the handshake ends)",
        { max: MAX_EARLY_EVENTS },
      );
    }
  }

  /** The handshake's own commands: their replies go back to it, a failure ends the link. */
  readonly #handshakeReply = (reply: Reply) => this.#step(this.#handshake.onReply(reply));
  readonly #handshakeFailed = (error: ManagementConnectionError) => this.#fail(error);

  #step(step: HandshakeStep | undefined): void {
    if (step === undefined || this.#failed || this.#closed) return;
    const timeoutMs = this.#options.commandTimeoutMs;
    switch (step.type) {
      case "send":
        if (step.command.name === "hold release") this.#options.log.info("Releasing OpenVPN hold");
        this.#issue(
          step.command.reply,
          step.command.name,
          `${step.command.text}\n`,
          timeoutMs,
          this.#handshakeReply,
          this.#handshakeFailed,
        );
        return;
      case "send-password": {
        let line: string;
        try {
          line = passwordLine(this.#options.password!);
        } catch (error) {
          this.#fail(asConnectionError(error, "password-rejected", "Management password not sent"));
          return;
        }
        this.#issue(
          "single",
          "password",
          line,
          timeoutMs,
          this.#handshakeReply,
          this.#handshakeFailed,
        );
        return;
      }
      case "ready":
        if (step.holdNotReleased !== undefined) this.#warnHold(step.holdNotReleased);
        this.#managementVersion = step.managementVersion;
        this.#port.deliver({
          type: "connected",
          managementVersion: step.managementVersion,
          openvpnPid: step.pid,
          openvpnStates: step.states,
        });
        this.#flushEarly();
        return;
      case "hold-not-released":
        this.#warnHold(step.message);
        return;
      case "fail":
        this.#fail(step.error);
        return;
    }
  }

  #flushEarly(): void {
    this.#reportDroppedEarly();
    const early = this.#early;
    this.#early = [];
    for (const event of early) {
      if (!this.ready) break;
      this.#port.deliver(event);
    }
  }

  #reportDroppedEarly(): void {
    if (this.#droppedEarly === 0) return;
    this.#options.log.error("Dropped {count} management event(s) received during the handshake", {
      count: this.#droppedEarly,
    });
    this.#droppedEarly = 0;
  }

  #warnHold(message: string): void {
    this.#options.log.warn("OpenVPN did not release its hold: {message}", { message });
  }

  #fail(error: ManagementConnectionError): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#port.fail(error);
  }
}
