/**
 * README: running out of file descriptors refuses connections; it does not stop the service. The
 * guard's Deno listener must go on accepting after a failed accept. Such a failure cannot be
 * caused on demand, so `Deno.listen` is replaced by a listener whose first accept fails as one
 * out of descriptors does.
 */
import { assertEquals } from "../../support/assert.ts";
import { guardTransport } from "../../../src/http/guard_transport.ts";

function fakeConn(port: number): Deno.Conn {
  const addr = { transport: "tcp", hostname: "198.51.100.1", port } as Deno.NetAddr;
  return {
    remoteAddr: addr,
    localAddr: { ...addr, hostname: "127.0.0.1", port: 443 },
    close: () => {},
  } as unknown as Deno.Conn;
}

Deno.test("guardTransport() on Deno accepts again after a failed accept (out of file descriptors)", async () => {
  const accepts: Array<() => Promise<Deno.Conn>> = [
    () => Promise.reject(new Error("Too many open files (os error 24)")),
    () => Promise.resolve(fakeConn(50_001)),
  ];
  let gotSocket!: () => void;
  const secondSocket = new Promise<void>((resolve) => (gotSocket = resolve));
  // Pending until the listener closes, when it fails as Deno's does.
  let closed = () => {};
  const untilClosed = () =>
    new Promise<Deno.Conn>((_resolve, reject) =>
      closed = () => reject(new Deno.errors.BadResource("closed"))
    );
  const realListen = Deno.listen;
  Deno.listen = (() => ({
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 443 },
    accept: () => accepts.shift()?.() ?? untilClosed(),
    close: () => closed(),
  })) as unknown as typeof Deno.listen;
  const sockets: number[] = [];
  const errors: string[] = [];
  try {
    const listener = await guardTransport().listen(
      "127.0.0.1",
      443,
      (socket) => {
        sockets.push(socket.remotePort);
        gotSocket();
      },
      (error) => errors.push(String(error)),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      secondSocket,
      new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
    ]);
    clearTimeout(timer);
    listener.close();
    assertEquals(errors, ["Error: Too many open files (os error 24)"]);
    assertEquals(sockets, [50_001], "no connection accepted after the failed accept");
  } finally {
    Deno.listen = realListen;
  }
});
