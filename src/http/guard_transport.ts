/**
 * TCP for the connection guard, per runtime: Deno's own sockets on Deno, `node:net` on Bun.
 * Deno's `node:net` server stops accepting for good after one failed accept (out of file
 * descriptors), while `Deno.listen` can accept again; Bun's `node:net` recovers by itself.
 */
import { connect as netConnect, createServer, type Socket } from "node:net";

export interface RelaySocket {
  readonly remoteAddress: string;
  readonly localPort: number;
  /**
   * Hands each chunk read to `onChunk` and waits for it before reading on (back-pressure);
   * settles at end of stream, on an error, or when the socket is closed.
   */
  pump(onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void>;
  write(chunk: Uint8Array): Promise<void>;
  /** No more writes (the peer sees end of stream); reading goes on. */
  end(): void;
  close(): void;
}

export interface GuardListener {
  readonly port: number;
  close(): void;
}

export interface GuardTransport {
  /** `onError` hears of failed accepts (EMFILE); the listener keeps accepting. */
  listen(
    host: string,
    port: number,
    onSocket: (socket: RelaySocket) => void,
    onError: (error: unknown) => void,
  ): Promise<GuardListener>;
  /** A connection to 127.0.0.1:`port`. */
  connect(port: number): Promise<RelaySocket>;
}

const READ_BUFFER_BYTES = 16 * 1024;
/** After a failed accept, wait this long before the next (descriptors are freed meanwhile). */
const ACCEPT_RETRY_MS = 50;

export function guardTransport(): GuardTransport {
  return "Bun" in globalThis ? nodeTransport : denoTransport;
}

const denoTransport: GuardTransport = {
  listen(host, port, onSocket, onError) {
    const listener = Deno.listen({ hostname: host, port });
    let closed = false;
    (async () => {
      while (!closed) {
        try {
          onSocket(denoSocket(await listener.accept()));
        } catch (error) {
          if (closed || error instanceof Deno.errors.BadResource) return;
          onError(error);
          await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        }
      }
    })();
    return Promise.resolve({
      port: (listener.addr as Deno.NetAddr).port,
      close: () => {
        closed = true;
        listener.close();
      },
    });
  },
  async connect(port) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return denoSocket(conn);
  },
};

function denoSocket(conn: Deno.Conn): RelaySocket {
  let closed = false;
  return {
    remoteAddress: (conn.remoteAddr as Deno.NetAddr).hostname,
    localPort: (conn.localAddr as Deno.NetAddr).port,
    async pump(onChunk) {
      const buffer = new Uint8Array(READ_BUFFER_BYTES);
      try {
        while (!closed) {
          const read = await conn.read(buffer);
          if (read === null) return;
          // The chunk is written out before the buffer is read into again.
          await onChunk(buffer.subarray(0, read));
        }
      } catch {
        // Reset by the peer or closed by us: the caller closes both sides.
      }
    },
    async write(chunk) {
      let written = 0;
      while (written < chunk.length && !closed) {
        written += await conn.write(chunk.subarray(written));
      }
    },
    end() {
      conn.closeWrite().catch(() => {});
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

const nodeTransport: GuardTransport = {
  listen(host, port, onSocket, onError) {
    const server = createServer({ noDelay: true }, (socket) => onSocket(nodeSocket(socket)));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        server.on("error", onError);
        const address = server.address();
        resolve({
          port: typeof address === "object" && address ? address.port : port,
          close: () => server.close(),
        });
      });
    });
  },
  connect(port) {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: "127.0.0.1", port, noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(nodeSocket(socket));
      });
    });
  },
};

function nodeSocket(socket: Socket): RelaySocket {
  socket.on("error", () => {});
  return {
    remoteAddress: socket.remoteAddress ?? "",
    localPort: socket.localPort ?? 0,
    pump(onChunk) {
      return new Promise((resolve) => {
        socket.on("data", (chunk: Uint8Array) => {
          socket.pause();
          onChunk(chunk).then(() => socket.resume(), () => socket.destroy());
        });
        socket.once("end", () => resolve());
        socket.once("close", () => resolve());
      });
    },
    write(chunk) {
      return new Promise((resolve) => {
        if (socket.destroyed) resolve();
        else socket.write(chunk, () => resolve());
      });
    },
    end() {
      socket.end();
    },
    close() {
      socket.destroy();
    },
  };
}
