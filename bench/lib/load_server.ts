/**
 * The load generator's OpenVPN side: a management server (unix socket) that greets like
 * OpenVPN 2.6, answers the handshake commands with OpenVPN's reply texts, sends `>CLIENT:`
 * blocks as fast as the socket takes them or at a fixed rate, and times each answer
 * (`client-auth-nt`, `client-auth ... END`, `client-pending-auth`, `client-deny`, and the
 * `client-kill {cid} "HALT,..."` a refused new client gets) from the moment its block was written.
 */
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CommandReader,
  greetingLine,
  openVpnReply,
  type OpenVpnState,
  wire,
} from "../../tests/support/openvpn_side.ts";

export type AnswerKind =
  | "client-auth-nt"
  | "client-auth"
  | "client-pending-auth"
  | "client-deny"
  | "client-kill";

export interface Answer {
  kind: AnswerKind;
  cid: number;
  /** A `client-kill` names no key id: the one of the cid's last block (NaN: none sent). */
  kid: number;
  /** The command's first line. */
  line: string;
  at: number;
}

export interface OutgoingBlock {
  cid: number;
  kid: number;
  text: string;
  /** `text` as UTF-8, made beforehand (`encodeBlocks`) for a paced run. */
  bytes?: Uint8Array;
}

/**
 * The blocks with their bytes made now, for a paced run: sending them then makes no garbage.
 * Call it before collecting the bench's garbage (own_gc.ts), as it makes ~12 MB per 5,000 blocks.
 */
export function encodeBlocks(blocks: readonly OutgoingBlock[]): OutgoingBlock[] {
  return blocks.map((block) => ({ ...block, bytes: bytesOf(block) }));
}

/** The block's bytes: made beforehand, or now. */
function bytesOf(block: OutgoingBlock): Uint8Array {
  return block.bytes ?? encoder.encode(block.text);
}

export interface RunResult {
  sent: number;
  answered: number;
  /** First write to last answer, ms. */
  elapsedMs: number;
  eventsPerSec: number;
  latenciesMs: number[];
  kinds: Record<string, number>;
}

export class LoadServer {
  readonly path: string;
  readonly #state: OpenVpnState = { managementVersion: 5, hold: false, clientList: [] };
  connections = 0;
  readonly #dir: string;
  readonly #server: Server;
  #client: Socket | undefined;
  /** Send time of each block in flight, by `answerKey(cid, kid)`. */
  #sentAt = new Map<number, number>();
  /**
   * The key id of each cid's last block, for a `client-kill`, which names the cid alone (kept
   * after an answer: a refusal at the IdP halts a client answered pending before).
   */
  #kidOf = new Map<number, number>();
  #latencies: number[] = [];
  #kinds: Record<string, number> = {};
  #answered = 0;
  #lastAnswerAt = 0;
  #answerListeners = new Set<(answer: Answer) => void>();
  #lineListeners = new Set<(line: string) => void>();

  private constructor(dir: string, server: Server) {
    this.#dir = dir;
    this.path = join(dir, "mgmt.sock");
    this.#server = server;
  }

  static async start(): Promise<LoadServer> {
    const dir = mkdtempSync(join(tmpdir(), "bench-mgmt-"));
    const server = createServer();
    const self = new LoadServer(dir, server);
    server.on("connection", (socket: Socket) => self.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(self.path, () => resolve());
    });
    return self;
  }

  get address(): string {
    return `unix://${this.path}`;
  }

  /** `CLIENT_LIST` lines of the `status 3` reply (tests/support/openvpn_side.ts `clientListLine`). */
  get clientList(): readonly string[] {
    return this.#state.clientList;
  }

  set clientList(lines: readonly string[]) {
    this.#state.clientList = lines;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Resolves with the first received line (from now on) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#lineListeners.delete(listener);
        reject(new Error(`No matching management line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: string) => {
        if (!test(line)) return;
        clearTimeout(timer);
        this.#lineListeners.delete(listener);
        resolve(line);
      };
      this.#lineListeners.add(listener);
    });
  }

  /** Calls `listener` for each answer; returns the unsubscribe function. */
  onAnswer(listener: (answer: Answer) => void): () => void {
    this.#answerListeners.add(listener);
    return () => this.#answerListeners.delete(listener);
  }

  /**
   * Writes blocks OpenVPN expects no answer to (DISCONNECT), pipelined in batches as `run`
   * writes them; resolves when the socket took the last.
   */
  async sendUnanswered(blocks: readonly OutgoingBlock[]): Promise<void> {
    const client = this.#client;
    if (client === undefined) throw new Error("No management client connected");
    const batch = 32;
    for (let i = 0; i < blocks.length; i += batch) {
      const text = blocks.slice(i, i + batch).map((block) => block.text).join("");
      if (!client.write(text)) await new Promise((resolve) => client.once("drain", resolve));
    }
  }

  /** Writes one block now (no bookkeeping beyond its send time). */
  send(block: OutgoingBlock): void {
    this.#sent(block, performance.now());
    this.#client?.write(block.text);
  }

  /**
   * Sends every block, pipelined (as fast as the socket takes them) when `ratePerSec` is
   * undefined, otherwise paced; resolves when all are answered or after `timeoutMs`.
   */
  async run(
    blocks: readonly OutgoingBlock[],
    options: { ratePerSec?: number; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const client = this.#client;
    if (client === undefined) throw new Error("No management client connected");
    this.#sentAt.clear();
    this.#kidOf.clear();
    this.#latencies = [];
    this.#kinds = {};
    this.#answered = 0;
    const allAnswered = new Promise<void>((resolve) => {
      const check = () => {
        if (this.#answered >= blocks.length) {
          unsubscribe();
          resolve();
        }
      };
      const unsubscribe = this.onAnswer(check);
    });
    const start = performance.now();
    if (options.ratePerSec === undefined) {
      // Batches of blocks per write keep the generator cheap next to the responder.
      const batch = 32;
      for (let i = 0; i < blocks.length; i += batch) {
        const now = performance.now();
        let text = "";
        for (const block of blocks.slice(i, i + batch)) {
          this.#sent(block, now);
          text += block.text;
        }
        if (!client.write(text)) await new Promise((resolve) => client.once("drain", resolve));
      }
    } else {
      // A send makes no garbage when the blocks come encoded (encodeBlocks): a collection of
      // the generator's own heap during the run (scavenges every ~0.8 s, an incremental
      // mark-compact ~3 s in, its marking threads taking the cores the responder runs on)
      // showed as bursts of slow answers in every responder's latencies.
      const encoded = blocks.map(bytesOf);
      const keys = blocks.map((block) => answerKey(block.cid, block.kid));
      const paceStart = performance.now();
      const interval = 1000 / options.ratePerSec;
      let next = 0;
      while (next < blocks.length) {
        const elapsed = performance.now() - paceStart;
        const due = Math.min(blocks.length, Math.floor(elapsed / interval) + 1);
        while (next < due) {
          this.#sent(blocks[next]!, performance.now(), keys[next]);
          client.write(encoded[next++]!);
        }
        await sleep(1);
      }
    }
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      allAnswered,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    const elapsedMs = this.#lastAnswerAt - start;
    return {
      sent: blocks.length,
      answered: this.#answered,
      elapsedMs,
      eventsPerSec: this.#answered / (elapsedMs / 1000),
      latenciesMs: this.#latencies,
      kinds: { ...this.#kinds },
    };
  }

  async closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.destroy();
    });
  }

  async stop(): Promise<void> {
    await this.closeClient();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #accept(socket: Socket): void {
    this.#client?.destroy();
    this.#client = socket;
    this.connections++;
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.#client === socket) this.#client = undefined;
    });
    const reader = new CommandReader();
    socket.on("data", (chunk: string) => {
      let out = "";
      reader.push(
        chunk,
        (command) => {
          const kind = answerKind(command);
          if (kind !== undefined) this.#answer(kind, firstLine(command));
          out += wire(openVpnReply(command, this.#state));
        },
        this.#lineListeners.size === 0 ? undefined : (line) => {
          for (const listener of this.#lineListeners) listener(line);
        },
      );
      if (out !== "") socket.write(out);
    });
    socket.write(wire([greetingLine()]));
  }

  /**
   * Notes a block as written at `at`, for its answer to be timed. A paced run passes the
   * block's `answerKey`, made beforehand: a key past 2^31 made now would be a new heap number.
   */
  #sent(block: OutgoingBlock, at: number, key = answerKey(block.cid, block.kid)): void {
    this.#sentAt.set(key, at);
    this.#kidOf.set(block.cid, block.kid);
  }

  #answer(kind: AnswerKind, line: string): void {
    const at = performance.now();
    const parts = line.split(" ", 3);
    const cid = Number(parts[1]);
    const kid = kind === "client-kill" ? this.#kidOf.get(cid) ?? NaN : Number(parts[2]);
    const key = answerKey(cid, kid);
    const sentAt = this.#sentAt.get(key);
    if (sentAt !== undefined) {
      this.#sentAt.delete(key);
      this.#latencies.push(at - sentAt);
      this.#answered++;
      this.#lastAnswerAt = at;
      this.#kinds[kind] = (this.#kinds[kind] ?? 0) + 1;
    }
    const answer: Answer = { kind, cid, kid, line, at };
    for (const listener of this.#answerListeners) listener(answer);
  }
}

const encoder = new TextEncoder();

/** One number per (cid, kid): no string made per block sent or answered. */
function answerKey(cid: number, kid: number): number {
  return cid * 2 ** 20 + kid;
}

function firstLine(command: string): string {
  const newline = command.indexOf("\n");
  return newline === -1 ? command : command.slice(0, newline);
}

function answerKind(command: string): AnswerKind | undefined {
  const space = command.indexOf(" ");
  const name = space === -1 ? command : command.slice(0, space);
  switch (name) {
    case "client-auth-nt":
    case "client-auth":
    case "client-pending-auth":
    case "client-deny":
    case "client-kill":
      return name;
    default:
      return undefined;
  }
}
