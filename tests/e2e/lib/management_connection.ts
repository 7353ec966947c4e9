/**
 * A small test-only client for OpenVPN's management interface over a unix socket: it keeps every
 * received line, lets tests wait for lines or `>CLIENT:` events, and sends commands. The bridge
 * has its own production client; this one favours observability over robustness.
 */

import { createConnection, type Socket } from "node:net";
import { withTimeout } from "./wait.ts";

/** One `>CLIENT:` notification; for kinds with an ENV block, complete up to `>CLIENT:ENV,END`. */
export interface ClientEvent {
  readonly kind: string;
  readonly cid: string;
  /** Key id for CONNECT/REAUTH/CR_RESPONSE, undefined otherwise. */
  readonly kid: string | undefined;
  readonly env: ReadonlyMap<string, string>;
  /** Index of the header line in `lines`. */
  readonly lineIndex: number;
}

export interface ManagementConnectionOptions {
  /** Answer to `ENTER PASSWORD:` when the interface is password protected. */
  readonly password?: string;
  /** Called for every received line before waiters are checked (e.g. auto-release hold). */
  readonly onLine?: (line: string, connection: ManagementConnection) => void;
  readonly connectTimeoutMs?: number;
}

interface Waiter {
  check(): boolean;
  fail(error: Error): void;
}

const KINDS_WITH_ENV = new Set(["CONNECT", "REAUTH", "ESTABLISHED", "DISCONNECT", "CR_RESPONSE"]);

/** Quotes one management command argument (config-file lexer rules); refuses CR and LF. */
export function quoteArg(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error("Management argument contains CR or LF");
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Parses `>CLIENT:` events from `lines`, starting at index `since`; incomplete blocks are left out. */
export function parseClientEvents(lines: readonly string[], since = 0): ClientEvent[] {
  const events: ClientEvent[] = [];
  for (let i = since; i < lines.length; i++) {
    const header = /^>CLIENT:([A-Z_]+),(.*)$/.exec(lines[i]!);
    if (header === null || header[1] === "ENV") continue;
    const kind = header[1]!;
    const fields = header[2]!.split(",");
    const cid = fields[0] ?? "";
    const kid = kind === "CONNECT" || kind === "REAUTH" || kind === "CR_RESPONSE"
      ? fields[1]
      : undefined;
    const env = new Map<string, string>();
    if (KINDS_WITH_ENV.has(kind)) {
      let complete = false;
      for (let j = i + 1; j < lines.length; j++) {
        const line = lines[j]!;
        if (!line.startsWith(">CLIENT:ENV,")) continue; // Other real-time lines may interleave.
        const pair = line.slice(">CLIENT:ENV,".length);
        if (pair === "END") {
          complete = true;
          break;
        }
        const eq = pair.indexOf("=");
        if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      if (!complete) continue;
    }
    events.push({ kind, cid, kid, env, lineIndex: i });
  }
  return events;
}

export class ManagementConnection {
  /** Every line received, without line endings, in order. */
  readonly lines: string[] = [];
  readonly path: string;
  /** Resolves when the socket is closed, by either side. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #transcript: string[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #options: ManagementConnectionOptions;
  #partial = "";
  #isClosed = false;
  #commandChain: Promise<unknown> = Promise.resolve();

  private constructor(path: string, socket: Socket, options: ManagementConnectionOptions) {
    this.path = path;
    this.#socket = socket;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#isClosed = true;
        if (this.#partial !== "") this.#receive(this.#partial);
        this.#partial = "";
        for (const waiter of this.#waiters) {
          if (!waiter.check()) waiter.fail(new Error(`Management connection closed: ${path}`));
        }
        this.#waiters.clear();
        resolve();
      });
    });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#onData(chunk));
    socket.on("error", (error) => this.#transcript.push(`-- socket error: ${error.message}`));
  }

  /** Connects to a management unix socket. */
  static async connect(
    path: string,
    options: ManagementConnectionOptions = {},
  ): Promise<ManagementConnection> {
    const socket = createConnection({ path });
    const connection = new ManagementConnection(path, socket, options);
    await withTimeout(
      `connecting to management socket ${path}`,
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      options.connectTimeoutMs ?? 5000,
    ).catch(async (error) => {
      socket.destroy();
      await connection.closed;
      throw error;
    });
    connection.#transcript.push(`-- connected to ${path}`);
    return connection;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Index of the next line to arrive; pass it as `since` to wait only for later lines. */
  mark(): number {
    return this.lines.length;
  }

  /** Received (`<<`) and sent (`>>`) lines, with password commands redacted. */
  transcript(): string[] {
    return [...this.#transcript];
  }

  /** Sends raw command lines. Lines marked secret are redacted in the transcript. */
  send(lines: string | readonly string[], options: { secret?: boolean } = {}): void {
    const list = typeof lines === "string" ? [lines] : lines;
    for (const line of list) {
      if (/[\r\n]/.test(line)) throw new Error("Management command contains CR or LF");
      this.#transcript.push(`>> ${options.secret ? redact(line) : line}`);
    }
    this.#socket.write(list.map((line) => `${line}\n`).join(""));
  }

  /**
   * Sends a command (or a multi-line one such as `client-auth` ... `END`) and resolves with its
   * `SUCCESS:` line; rejects on `ERROR:`. Commands are serialised so replies match. Not for
   * commands whose reply is a multi-line block ending in END (`status`, `version`).
   */
  command(lines: string | readonly string[], timeoutMs = 5000): Promise<string> {
    const next = this.#commandChain.then(async () => {
      const since = this.mark();
      this.send(lines);
      const { line } = await this.waitForLine(/^(SUCCESS|ERROR):/, { since, timeoutMs });
      if (line.startsWith("ERROR:")) {
        throw new Error(`Management command failed: ${[lines].flat()[0]}: ${line}`);
      }
      return line;
    });
    this.#commandChain = next.catch(() => {});
    return next;
  }

  /** Waits for a line matching `pattern` at index `since` (default 0) or later. */
  waitForLine(
    pattern: RegExp | ((line: string) => boolean),
    options: { since?: number; timeoutMs?: number } = {},
  ): Promise<{ line: string; index: number; match: RegExpExecArray | null }> {
    const test = typeof pattern === "function" ? pattern : (line: string) => pattern.test(line);
    let scanned = options.since ?? 0;
    return this.waitFor(`a management line matching ${pattern} on ${this.path}`, () => {
      for (; scanned < this.lines.length; scanned++) {
        const line = this.lines[scanned]!;
        if (test(line)) {
          const match = pattern instanceof RegExp
            ? new RegExp(pattern.source, pattern.flags).exec(line)
            : null;
          return { line, index: scanned, match };
        }
      }
      return undefined;
    }, options.timeoutMs ?? 10_000);
  }

  /** Waits for a complete `>CLIENT:<kind>` event at line `since` or later. */
  waitForClientEvent(
    kind: string,
    options: { since?: number; timeoutMs?: number; cid?: string } = {},
  ): Promise<ClientEvent> {
    return this.waitFor(
      `>CLIENT:${kind}${
        options.cid === undefined ? "" : ` for cid ${options.cid}`
      } on ${this.path}`,
      () =>
        parseClientEvents(this.lines, options.since ?? 0).find((event) =>
          event.kind === kind && (options.cid === undefined || event.cid === options.cid)
        ),
      options.timeoutMs ?? 10_000,
    );
  }

  /** Re-evaluates `probe` after every received line until it returns a value. */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The callback runs later, when `waiter` is initialised.
      const timer = setTimeout(
        () => waiter.fail(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return false;
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(value);
          return true;
        },
        fail: (error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(error);
        },
      };
      if (waiter.check()) return;
      if (this.#isClosed) {
        waiter.fail(new Error(`Management connection closed before ${what}`));
        return;
      }
      this.#waiters.add(waiter);
    });
  }

  /** Closes the socket and waits until it is gone. */
  async close(): Promise<void> {
    if (!this.#isClosed) this.#socket.end();
    await withTimeout(`closing ${this.path}`, this.closed, 2000).catch(async () => {
      this.#socket.destroy();
      await this.closed;
    });
  }

  #onData(chunk: string): void {
    this.#partial += chunk;
    let newline: number;
    while ((newline = this.#partial.indexOf("\n")) >= 0) {
      const line = this.#partial.slice(0, newline).replace(/\r$/, "");
      this.#partial = this.#partial.slice(newline + 1);
      this.#receive(line);
    }
    // The password prompt comes without a line ending.
    if (this.#partial.startsWith("ENTER PASSWORD:")) {
      this.#receive(this.#partial);
      this.#partial = "";
    }
  }

  #receive(line: string): void {
    this.lines.push(line);
    this.#transcript.push(`<< ${line.startsWith(">CLIENT:ENV,password=") ? redact(line) : line}`);
    if (line.startsWith("ENTER PASSWORD:") && this.#options.password !== undefined) {
      this.send(this.#options.password, { secret: true });
    }
    try {
      this.#options.onLine?.(line, this);
    } catch (error) {
      this.#transcript.push(`-- onLine handler failed: ${String(error)}`);
    }
    for (const waiter of [...this.#waiters]) waiter.check();
  }
}

/** Keeps the command word and hides what could be a secret. */
function redact(line: string): string {
  if (line.startsWith(">CLIENT:ENV,password=")) return ">CLIENT:ENV,password=***";
  const words = line.split(" ");
  if (words[0] === "password" || words[0] === "username") {
    return `${words.slice(0, 2).join(" ")} ***`;
  }
  return "***";
}
