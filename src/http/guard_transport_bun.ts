/**
 * The connection guard's sockets on Bun, from Bun's own TCP API (`Bun.listen`, `Bun.connect`):
 * relayed through Bun's `node:net`, a paced request cost about a third more CPU (bench/README.md,
 * "Bun's own sockets for the guard").
 *
 * What this relies on, checked on Bun 1.4 (tests/binary runs it under an open-file limit):
 * - each `data` chunk is a buffer of its own, so it may be written out after the callback;
 * - `write` sends what the kernel takes now and buffers nothing: the rest waits for `drain`;
 * - with `allowHalfOpen`, a peer's end of stream leaves our side writable (`end` event), and
 *   `shutdown()` half-closes ours;
 * - `end()` releases the descriptor at once, whether or not the peer ever closes its side;
 *   `terminate()` would reset the connection and could drop a response the peer has not read.
 */
import {
  type GuardListener,
  type GuardTransport,
  RELAY_HOST,
  type RelaySocket,
} from "./relay_socket.ts";

interface BunSocket {
  readonly remoteAddress: string;
  readonly remotePort?: number;
  readonly localPort: number;
  data: BunRelaySocket | undefined;
  /** Bytes taken by the kernel; -1 once closed. */
  write(chunk: Uint8Array): number;
  shutdown(): void;
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
}

interface BunSocketHandlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunTcp {
  listen(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: BunSocketHandlers;
  }): { readonly port: number; stop(closeActiveConnections?: boolean): void };
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: BunSocketHandlers;
  }): Promise<BunSocket>;
}

const bun = (globalThis as unknown as { Bun: BunTcp }).Bun;

/** Sockets are wrapped when they open; the wrapper is the socket's `data`. */
const handlers: BunSocketHandlers = {
  open(socket) {
    socket.setNoDelay(true);
    socket.data = new BunRelaySocket(socket);
  },
  data: (socket, chunk) => socket.data?.received(chunk),
  drain: (socket) => socket.data?.drained(),
  end: (socket) => socket.data?.ended(),
  close: (socket) => socket.data?.closed(),
  // A reset or failed read; `close` follows and settles everything.
  error: () => {},
};

export const bunTransport: GuardTransport = {
  listen(host, port, onSocket) {
    // A listener that cannot bind throws here. Failed accepts (out of descriptors) are retried
    // by Bun itself and never reach JavaScript, so `onError` hears nothing from this transport.
    const listener = bun.listen({
      hostname: host,
      port,
      allowHalfOpen: true,
      socket: {
        ...handlers,
        open(socket) {
          handlers.open(socket);
          onSocket(socket.data!);
        },
      },
    });
    const guardListener: GuardListener = {
      port: listener.port,
      // Open connections are the guard's to close.
      close: () => listener.stop(false),
    };
    return Promise.resolve(guardListener);
  },
  async connect(port) {
    const socket = await bun.connect({
      hostname: RELAY_HOST,
      port,
      allowHalfOpen: true,
      socket: handlers,
    });
    return socket.data!;
  },
};

class BunRelaySocket implements RelaySocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly #socket: BunSocket;
  #onChunk: ((chunk: Uint8Array) => Promise<void>) | undefined;
  #settlePump: (() => void) | undefined;
  /** A chunk is with `onChunk`; chunks arriving meanwhile wait here, the socket paused. */
  #busy = false;
  readonly #waiting: Uint8Array[] = [];
  #paused = false;
  #endOfStream = false;
  #unsent: Uint8Array | undefined;
  #settleWrite: (() => void) | undefined;
  #closed = false;

  constructor(socket: BunSocket) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
  }

  pump(onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      this.#onChunk = onChunk;
      this.#settlePump = resolve;
      this.#next();
    });
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const written = this.#socket.write(chunk);
    if (written < 0 || written >= chunk.length) return Promise.resolve();
    this.#unsent = chunk.subarray(written);
    return new Promise((resolve) => this.#settleWrite = resolve);
  }

  end(): void {
    if (!this.#closed) this.#socket.shutdown();
  }

  close(): void {
    if (this.#closed) return;
    this.#socket.end();
    this.closed();
  }

  received(chunk: Uint8Array): void {
    // Nothing is handed on after close(), whatever Bun still reports.
    if (this.#closed) return;
    this.#waiting.push(chunk);
    if (this.#busy || this.#onChunk === undefined) {
      // Back-pressure: nothing more is read until the chunks here have been handed on.
      if (!this.#paused) {
        this.#paused = true;
        this.#socket.pause();
      }
      return;
    }
    this.#next();
  }

  drained(): void {
    const unsent = this.#unsent;
    if (unsent === undefined) return;
    const written = this.#socket.write(unsent);
    if (written >= 0 && written < unsent.length) {
      this.#unsent = unsent.subarray(written);
      return;
    }
    this.#wrote();
  }

  ended(): void {
    this.#endOfStream = true;
    this.#next();
  }

  closed(): void {
    this.#closed = true;
    this.#endOfStream = true;
    this.#waiting.length = 0;
    this.#wrote();
    this.#next();
  }

  #wrote(): void {
    this.#unsent = undefined;
    const settle = this.#settleWrite;
    this.#settleWrite = undefined;
    settle?.();
  }

  /** Hands on the next waiting chunk, or settles the pump at end of stream. */
  #next(): void {
    if (this.#busy || this.#onChunk === undefined) return;
    const chunk = this.#waiting.shift();
    if (chunk === undefined) {
      if (this.#endOfStream) {
        const settle = this.#settlePump;
        this.#settlePump = undefined;
        settle?.();
      } else if (this.#paused) {
        this.#paused = false;
        this.#socket.resume();
      }
      return;
    }
    this.#busy = true;
    this.#onChunk(chunk).then(
      () => {
        this.#busy = false;
        this.#next();
      },
      () => {
        this.#busy = false;
        this.close();
      },
    );
  }
}
