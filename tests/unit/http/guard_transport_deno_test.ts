/**
 * The Deno transport's socket wrapper against a scripted `Deno.Conn`: a read that finishes just
 * as close() runs, which real sockets give only by chance (the connection guard's idle timer
 * closing a connection as its next request arrives).
 */
import { assertEquals } from "../../support/assert.ts";
import { guardTransport } from "../../../src/http/guard_transport.ts";

Deno.test("guardTransport() on Deno hands on nothing from a read that finished as close() ran", async () => {
  let finishRead!: (bytes: number) => void;
  const addr = { transport: "tcp", hostname: "127.0.0.1", port: 8001 } as Deno.NetAddr;
  const conn = {
    remoteAddr: addr,
    localAddr: { ...addr, port: 40_000 },
    setNoDelay: () => {},
    // Pending until the test finishes it.
    read: (buffer: Uint8Array) =>
      new Promise<number>((resolve) =>
        finishRead = (bytes) => {
          buffer.fill(1, 0, bytes);
          resolve(bytes);
        }
      ),
    close: () => {},
  } as unknown as Deno.Conn;
  const realConnect = Deno.connect;
  Deno.connect = (() => Promise.resolve(conn)) as unknown as typeof Deno.connect;
  try {
    const socket = await guardTransport().connect(8001);
    const handed: number[] = [];
    const pumping = socket.pump((chunk) => {
      handed.push(...chunk);
      return Promise.resolve();
    });
    // The read has its bytes, and close() runs before the pump goes on with them.
    finishRead(3);
    socket.close();
    await pumping;
    assertEquals(handed, [], "a chunk was handed on after close()");
  } finally {
    Deno.connect = realConnect;
  }
});
