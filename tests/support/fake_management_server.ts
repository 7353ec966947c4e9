/**
 * A scripted stand-in for OpenVPN's management interface (server side, 2.6 / management
 * version 5), for integration tests of the management client and the bridge.
 *
 * It listens on TCP 127.0.0.1 (free port) or on a unix socket in a temp dir, greets like
 * OpenVPN, optionally asks for a password (`ENTER PASSWORD:` without line end, prompted again
 * after a wrong one, three tries)
 * and optionally holds (`>HOLD:...`, `hold` answers `hold=1`). It answers the usual commands
 * with OpenVPN's real reply texts, records every line it receives, and lets the test inject
 * `>CLIENT` blocks, raw text and replies, close the client mid-block, and stop/restart on the
 * same address. Like OpenVPN it serves one client at a time (a new one replaces the old).
 *
 * @example
 * ```ts
 * const server = await FakeManagementServer.start({ password: "pw" });
 * server.sendClientBlock("CONNECT", 0, 1, { common_name: "alice" });
 * await server.waitForLine((line) => line.startsWith("client-auth-nt 0 1"));
 * await server.stop();
 * ```
 */
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ManagementAddress } from "../../src/config/types.ts";
import {
  type ClientBlockKind,
  clientBlockLines,
  clientListLine,
  CommandReader,
  greetingLine,
  openVpnReply,
  STARTED_AT,
  wire,
} from "./openvpn_side.ts";

/**
 * What to do with one received command (a `client-auth` block arrives joined with `\n`):
 * reply lines (sent with `\r\n`), `"default"` for the built-in answer, `"none"` to stay silent
 * (the test may answer later with `send`/`sendLines`).
 */
export type Responder = (command: string) => string[] | "default" | "none";

export interface FakeManagementServerOptions {
  /** `tcp` (default): 127.0.0.1 on a free port; `unix`: a socket in a fresh temp dir. */
  transport?: "tcp" | "unix";
  /** When set, the client must send this line first (like `management ... pw-file`). */
  password?: string;
  /** Start in hold: `>HOLD:` after the greeting, `hold` answers `hold=1`. */
  hold?: boolean;
  /** Reported by `version` and in the greeting. Default 5. */
  managementVersion?: number;
  respond?: Responder;
  /**
   * What a second client gets while one is connected: `replace` (default) closes the old one;
   * `queue` is what OpenVPN itself does: the new connection waits, not greeted, until the
   * current client leaves.
   */
  secondClient?: "replace" | "queue";
}

type LineWaiter = { test: (line: string) => boolean; resolve: (line: string) => void };

export class FakeManagementServer {
  /** Every line received, in order, across connections (password attempts included). */
  readonly received: string[] = [];
  /** Every line received, with the connection (1, 2, ...) it came on and when (Date.now()). */
  readonly transcript: Array<{ connection: number; line: string; at: number }> = [];
  /** How many client connections were accepted so far. */
  connections = 0;
  /** Whether a client sent `hold release` since the server (re)started in hold. */
  holdReleased = false;
  respond: Responder | undefined;
  /**
   * What `pid` and `state` tell (openvpn_run.ts): set a new pid to play an OpenVPN that
   * restarted, a new time for a restart inside the process (SIGHUP) the bridge did not see.
   */
  pid = 4242;
  startedAt = STARTED_AT;
  /**
   * The states OpenVPN added to its history after its start at `startedAt`, as `state all`
   * prints them (restart_in_place.ts adds those of a restart).
   */
  readonly laterStates: string[] = [];
  /** Connected clients (cid -> common name) as `status 3` lists them: CONNECTs sent, minus DISCONNECTs. */
  readonly clients = new Map<number, string>();
  /** Cids of `clients` listed with no virtual address (not admitted yet, or never told of). */
  readonly unaddressed = new Set<number>();

  readonly #options: FakeManagementServerOptions;
  #address: ManagementAddress;
  #tempDir: string | undefined;
  #server: Server | undefined;
  #client: Socket | undefined;
  /** Connections waiting for their turn (`secondClient: "queue"`). */
  #queued: Socket[] = [];
  #waiters: LineWaiter[] = [];
  #connectionWaiters: Array<() => void> = [];

  private constructor(
    options: FakeManagementServerOptions,
    address: ManagementAddress,
    tempDir?: string,
  ) {
    this.#options = options;
    this.#address = address;
    this.#tempDir = tempDir;
    this.respond = options.respond;
  }

  /** Starts listening; the address is in `address`. */
  static async start(options: FakeManagementServerOptions = {}): Promise<FakeManagementServer> {
    let server: FakeManagementServer;
    if (options.transport === "unix") {
      const dir = mkdtempSync(join(tmpdir(), "fake-mgmt-"));
      server = new FakeManagementServer(
        options,
        { kind: "unix", path: join(dir, "mgmt.sock") },
        dir,
      );
    } else {
      server = new FakeManagementServer(options, { kind: "tcp", host: "127.0.0.1", port: 0 });
    }
    await server.#listen();
    return server;
  }

  /** Where the server listens (the same after `restart()`). */
  get address(): ManagementAddress {
    return this.#address;
  }

  /** Whether a client is connected now. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Sends raw text to the connected client (add `\r\n` yourself). */
  send(text: string): void {
    this.#client?.write(text);
  }

  /** Sends lines, each ended with `\r\n` as OpenVPN does. */
  sendLines(lines: readonly string[]): void {
    if (lines.length > 0) this.send(wire(lines));
  }

  /** Sends a whole `>CLIENT:` block: header, ENV lines and `>CLIENT:ENV,END`. */
  sendClientBlock(
    kind: ClientBlockKind,
    cid: number,
    kid: number | undefined,
    env: Record<string, string>,
  ): void {
    if (kind === "CONNECT") this.clients.set(cid, env["common_name"] ?? "");
    if (kind === "DISCONNECT") this.clients.delete(cid);
    this.sendLines(clientBlockLines(kind, cid, kid, env));
  }

  /** Resolves with the first received line (past or future) that matches. */
  waitForLine(match: string | ((line: string) => boolean), timeoutMs = 5000): Promise<string> {
    const test = typeof match === "string" ? (line: string) => line === match : match;
    const seen = this.received.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return this.#withTimeout(
      new Promise<string>((resolve) => this.#waiters.push({ test, resolve })),
      timeoutMs,
      `No received line matched within ${timeoutMs} ms; received: ${
        JSON.stringify(this.received.slice(-10))
      }`,
    );
  }

  /** Resolves once `count` connections have been accepted in total. */
  async waitForConnections(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections < count) {
      if (Date.now() > deadline) {
        throw new Error(`Expected ${count} connections, got ${this.connections}`);
      }
      await this.#withTimeout(
        new Promise<void>((resolve) => this.#connectionWaiters.push(resolve)),
        Math.max(1, deadline - Date.now()),
        `Expected ${count} connections, got ${this.connections}`,
      );
    }
  }

  /** Closes the connection to the current client (the listener stays). */
  async closeClient(): Promise<void> {
    for (const queued of this.#queued.splice(0)) queued.destroy();
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.destroy();
    });
  }

  /** Closes the client and the listener; the temp dir stays until `stop()` ends it all. */
  async stop(): Promise<void> {
    await this.#stopListening();
    if (this.#tempDir !== undefined) {
      rmSync(this.#tempDir, { recursive: true, force: true });
      this.#tempDir = undefined;
    }
  }

  /** Closes everything and listens again on the same address (same port or path). */
  async restart(): Promise<void> {
    await this.#stopListening();
    this.holdReleased = false;
    await this.#listen();
  }

  async #stopListening(): Promise<void> {
    await this.closeClient();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.#address.kind === "unix") rmSync(this.#address.path, { force: true });
  }

  async #listen(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const address = this.#address;
      if (address.kind === "unix") {
        rmSync(address.path, { force: true });
        server.listen(address.path, () => resolve());
      } else {
        server.listen(address.port, address.host, () => resolve());
      }
    });
    const bound = server.address();
    if (this.#address.kind === "tcp" && bound !== null && typeof bound === "object") {
      this.#address = { kind: "tcp", host: "127.0.0.1", port: bound.port };
    }
  }

  #accept(socket: Socket): void {
    if (this.#options.secondClient === "queue" && this.#client !== undefined) {
      socket.on("error", () => {});
      socket.once("close", () => (this.#queued = this.#queued.filter((s) => s !== socket)));
      this.#queued.push(socket);
      return;
    }
    this.#client?.destroy();
    this.#client = socket;
    const connection = ++this.connections;
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.#client !== socket) return;
      this.#client = undefined;
      const next = this.#queued.shift();
      if (next !== undefined) this.#accept(next);
    });
    const session = { authenticated: this.#options.password === undefined, tries: 0 };
    const reader = new CommandReader();
    socket.on("data", (chunk: string) => {
      reader.push(
        chunk,
        (command) => {
          if (socket !== this.#client) return;
          if (session.authenticated) this.#answer(socket, command);
          else this.#checkPassword(socket, session, command);
        },
        (line) => this.#receive(line, connection),
      );
    });
    if (session.authenticated) this.#greet(socket);
    else socket.write("ENTER PASSWORD:");
    for (const resolve of this.#connectionWaiters.splice(0)) resolve();
  }

  #greet(socket: Socket): void {
    const lines = [greetingLine(this.#options.managementVersion)];
    if (this.#options.hold && !this.holdReleased) lines.push(">HOLD:Waiting for hold release:0");
    socket.write(wire(lines));
  }

  #receive(line: string, connection: number): void {
    this.received.push(line);
    this.transcript.push({ connection, line, at: Date.now() });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  #checkPassword(socket: Socket, session: { authenticated: boolean; tries: number }, line: string) {
    if (line === this.#options.password) {
      session.authenticated = true;
      socket.write("SUCCESS: password is correct\r\n");
      this.#greet(socket);
    } else if (++session.tries >= 3) {
      socket.end(); // "client connection rejected after 3 failed password attempts"
    } else {
      // As recorded from OpenVPN 2.6: no ERROR line, only the prompt again.
      socket.write("ENTER PASSWORD:");
    }
  }

  #answer(socket: Socket, command: string): void {
    const custom = this.respond?.(command) ?? "default";
    if (custom === "none") return;
    if (command === "hold release") this.holdReleased = true;
    const lines = custom === "default"
      ? openVpnReply(command, {
        managementVersion: this.#options.managementVersion ?? 5,
        hold: this.#options.hold ?? false,
        clientList: [...this.clients].map(([cid, name]) =>
          clientListLine(cid, name, { unaddressed: this.unaddressed.has(cid) })
        ),
        pid: this.pid,
        startedAt: this.startedAt,
        laterStates: this.laterStates,
      })
      : custom;
    socket.write(wire(lines));
  }

  async #withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(message)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
