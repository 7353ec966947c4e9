/**
 * The HTTP server behind the connection guard serves only the guard's relay sockets. A local
 * process that found its private port is refused (403), even from another loopback address
 * (127.0.0.2) and the very port number of a live relay socket, which names a browser to the
 * guard: served, it would bypass every connection limit and speak with that browser's address.
 */
import net from "node:net";
import { assertEquals } from "../../support/assert.ts";
import { serveHttp } from "../../../src/http/serve.ts";
import { guardTransport } from "../../../src/http/guard_transport.ts";
import type { GuardTransport, RelaySocket } from "../../../src/http/relay_socket.ts";

/** Sends one request from `localAddress:localPort`: where it came from, and the status line. */
function requestFrom(port: number, localAddress: string, localPort: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let received = "";
    let from = "";
    const socket = net.connect({ host: "127.0.0.1", port, localAddress, localPort });
    socket.setTimeout(5_000, () => socket.destroy(new Error("no answer")));
    socket.on("connect", () => {
      from = `${socket.localAddress}:${socket.localPort}`;
      socket.write("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    });
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("close", () => resolve([from, received.split("\r\n")[0] ?? ""]));
    socket.on("error", reject);
  });
}

Deno.test({
  name:
    "a connection to the private HTTP server from another loopback address with a relay's port is refused",
  // 127.0.0.2 is a loopback address on Linux only.
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const real = guardTransport();
    const relays: RelaySocket[] = [];
    const transport: GuardTransport = {
      listen: (...args) => real.listen(...args),
      connect: async (port) => {
        const relay = await real.connect(port);
        relays.push(relay);
        return relay;
      },
    };
    const served: string[] = [];
    const server = await serveHttp(
      {
        host: "127.0.0.1",
        port: 0,
        tls: undefined,
        maxConnections: 8,
        maxConnectionsPerClient: 8,
        headerTimeoutMs: 2000,
        idleTimeoutMs: 2000,
        transport,
      },
      (_request, { remoteAddr }) => {
        served.push(remoteAddr);
        return new Response("ok");
      },
    );
    // A browser's connection, its request not sent yet: the guard has relayed it.
    const browser = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      for (let i = 0; i < 100 && relays.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const relay = relays[0]!;
      const answer = await requestFrom(relay.remotePort, "127.0.0.2", relay.localPort);
      assertEquals(answer, [`127.0.0.2:${relay.localPort}`, "HTTP/1.1 403 Forbidden"]);
      assertEquals(served, []);
    } finally {
      browser.close();
      await server.close();
    }
  },
});
