/**
 * The start of every management link as a pure step machine: fed the link's events and the
 * replies to the commands it asked for, with the time passed in, it says what to write next.
 * No sockets, no timers, no secrets (the caller writes the password line).
 *
 * The sequence OpenVPN 2.6 expects (see the recorded transcripts in tests/fixtures):
 * 1. `ENTER PASSWORD:` (password-protected interfaces only): write the password; `SUCCESS:`
 *    goes on. OpenVPN 2.6 answers a wrong password only by prompting again (no `ERROR:` line):
 *    a second prompt, or an `ERROR:`, fails the attempt (retrying fast would not help).
 * 2. The greeting `>INFO:OpenVPN Management Interface Version 5 ...`: ask `version`.
 * 3. `Management Version: N` in the reply: ask `pid`, turn on `state` notifications and ask
 *    for the state history (`state all`): together they name OpenVPN's run (openvpn_run.ts). An
 *    `ERROR:` to any of them leaves the run unknown and goes on. Then ask `hold`.
 * 4. `hold=1`, or a `>HOLD:` seen on the way: `hold release`. OpenVPN holds again after every
 *    restart (SIGHUP, SIGUSR1, a reset pushed by the server) while the link stays open: each
 *    `>HOLD:` that comes after the link is up is released too, one release in flight at a time.
 * 5. The link is up (`ready`).
 * Nothing may wait for ever: without a greeting within the deadline the attempt fails.
 */
import {
  holdQuery,
  holdRelease,
  type ManagementCommand,
  parseManagementVersion,
  pid,
  stateHistory,
  stateOn,
  version,
} from "./commands.ts";
import { ManagementConnectionError } from "./errors.ts";
import type { ManagementEvent, Reply } from "./events.ts";
import { type OpenvpnState, pidFromReply, statesFromReply } from "./openvpn_run.ts";

export type HandshakeStep =
  /** Write this command; hand its reply to `onReply`. */
  | { type: "send"; command: ManagementCommand }
  /** Write the password line; hand its reply to `onReply`. */
  | { type: "send-password" }
  /**
   * The link is up; `holdNotReleased` says why OpenVPN may still be waiting in its hold.
   * `pid` and `states` (the state history, oldest first) are undefined when OpenVPN did not
   * tell them.
   */
  | {
    type: "ready";
    managementVersion: number;
    pid: number | undefined;
    states: OpenvpnState[] | undefined;
    holdNotReleased?: string;
  }
  /** The attempt failed: close the link. */
  | { type: "fail"; error: ManagementConnectionError }
  /** OpenVPN did not release its hold (the link stays up; OpenVPN may still be waiting). */
  | { type: "hold-not-released"; message: string };

type Phase =
  | "greeting"
  | "password"
  | "version"
  | "pid"
  | "state-on"
  | "state"
  | "hold"
  | "release"
  | "ready"
  | "failed";

export class Handshake {
  readonly #hasPassword: boolean;
  readonly #greetingDeadline: number;
  readonly #timeoutMs: number;
  #phase: Phase = "greeting";
  #holdSeen = false;
  /** Whether the reply to a hold release sent after the link came up is still due. */
  #lateRelease = false;
  #managementVersion = 0;
  #pid: number | undefined;
  #states: OpenvpnState[] | undefined;

  /** `now` is when the connection was opened; the greeting is due `timeoutMs` later. */
  constructor(options: { hasPassword: boolean; timeoutMs: number }, now: number) {
    this.#hasPassword = options.hasPassword;
    this.#timeoutMs = options.timeoutMs;
    this.#greetingDeadline = now + options.timeoutMs;
  }

  get ready(): boolean {
    return this.#phase === "ready";
  }

  /** When `onTime` must be called next (Infinity: no deadline of the handshake's own). */
  get deadline(): number {
    return this.#phase === "greeting" ? this.#greetingDeadline : Infinity;
  }

  /**
   * Whether OpenVPN's answer to `state all` is in: a `>STATE:` line that came before it is in
   * that history already.
   */
  get statesTold(): boolean {
    return this.#phase === "hold" || this.#phase === "release" || this.#phase === "ready";
  }

  /** Only `password-prompt`, `info` and `hold` events matter; others return undefined. */
  onEvent(event: ManagementEvent): HandshakeStep | undefined {
    switch (event.type) {
      case "password-prompt":
        if (this.#phase === "password") {
          return this.#fail(
            "password-rejected",
            "Management password rejected: OpenVPN asked for it again",
          );
        }
        if (this.#phase !== "greeting") return undefined;
        if (!this.#hasPassword) {
          return this.#fail(
            "password-required",
            "Management password required: the interface asks for one but none is configured",
          );
        }
        this.#phase = "password";
        return { type: "send-password" };
      case "info":
        if (this.#phase !== "greeting") return undefined;
        return this.#askVersion();
      case "hold":
        this.#holdSeen = true;
        if (this.#phase !== "ready" || this.#lateRelease) return undefined;
        this.#lateRelease = true;
        return { type: "send", command: holdRelease() };
      default:
        return undefined;
    }
  }

  /** The reply to the command of the last `send`/`send-password` step. */
  onReply(reply: Reply): HandshakeStep | undefined {
    switch (this.#phase) {
      case "password":
        if (reply.type === "success") return this.#askVersion();
        return this.#fail("password-rejected", `Management password rejected: ${describe(reply)}`);
      case "version": {
        const found = reply.type === "lines" ? parseManagementVersion(reply.lines) : undefined;
        if (found === undefined) {
          return this.#fail(
            "handshake",
            "Management handshake failed: no Management Version in the version reply",
          );
        }
        this.#managementVersion = found;
        this.#phase = "pid";
        return { type: "send", command: pid() };
      }
      case "pid":
        this.#pid = pidFromReply(reply);
        this.#phase = "state-on";
        return { type: "send", command: stateOn() };
      case "state-on":
        this.#phase = "state";
        return { type: "send", command: stateHistory() };
      case "state":
        this.#states = statesFromReply(reply);
        this.#phase = "hold";
        return { type: "send", command: holdQuery() };
      case "hold": {
        const holding = reply.type === "success" && reply.message === "hold=1";
        if (!holding && !this.#holdSeen) return this.#becomeReady();
        this.#phase = "release";
        return { type: "send", command: holdRelease() };
      }
      case "release": {
        const ready = this.#becomeReady();
        if (reply.type !== "success") ready.holdNotReleased = describe(reply);
        return ready;
      }
      case "ready":
        if (!this.#lateRelease) return undefined;
        this.#lateRelease = false;
        return reply.type === "success"
          ? undefined
          : { type: "hold-not-released", message: describe(reply) };
      default:
        return undefined;
    }
  }

  /** Fails the attempt when the greeting is overdue at `now`. */
  onTime(now: number): HandshakeStep | undefined {
    if (this.#phase !== "greeting" || now < this.#greetingDeadline) return undefined;
    return this.#fail(
      "no-greeting",
      `Management interface did not greet within ${this.#timeoutMs} ms: is another client connected?`,
    );
  }

  #askVersion(): HandshakeStep {
    this.#phase = "version";
    return { type: "send", command: version() };
  }

  #becomeReady(): HandshakeStep & { type: "ready" } {
    this.#phase = "ready";
    return {
      type: "ready",
      managementVersion: this.#managementVersion,
      pid: this.#pid,
      states: this.#states,
    };
  }

  #fail(code: ManagementConnectionError["code"], message: string): HandshakeStep {
    this.#phase = "failed";
    return { type: "fail", error: new ManagementConnectionError(code, message) };
  }
}

/** OpenVPN's own words for a refusal (`ERROR: bad password` -> `bad password`). */
function describe(reply: Reply): string {
  return reply.type === "error" ? reply.message : "unexpected reply";
}
