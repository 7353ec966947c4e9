/**
 * TCP for the connection guard, per runtime: each runtime's own sockets (Bun's are in
 * guard_transport_bun.ts). Deno's `node:net` server stops accepting for good after one failed
 * accept (out of file descriptors), while `Deno.listen` can accept again.
 */
import { bunTransport } from "./guard_transport_bun.ts";
import { type GuardTransport, RELAY_HOST, type RelaySocket } from "./relay_socket.ts";

const READ_BUFFER_BYTES = 16 * 1024;
/** After a failed accept, wait this long before the next (descriptors are freed meanwhile). */
const ACCEPT_RETRY_MS = 50;

export function guardTransport(): GuardTransport {
  return "Bun" in globalThis ? bunTransport : denoTransport;
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
        if (closed) return;
        closed = true;
        listener.close();
      },
    });
  },
  async connect(port) {
    const conn = await Deno.connect({ hostname: RELAY_HOST, port });
    conn.setNoDelay(true);
    return denoSocket(conn);
  },
};

function denoSocket(conn: Deno.Conn): RelaySocket {
  let closed = false;
  return {
    remoteAddress: (conn.remoteAddr as Deno.NetAddr).hostname,
    remotePort: (conn.remoteAddr as Deno.NetAddr).port,
    localPort: (conn.localAddr as Deno.NetAddr).port,
    async pump(onChunk) {
      const buffer = new Uint8Array(READ_BUFFER_BYTES);
      try {
        while (!closed) {
          const read = await conn.read(buffer);
          // A read may finish just as close() runs: what it got is dropped, as after the close.
          if (read === null || closed) return;
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
