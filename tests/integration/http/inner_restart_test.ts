/**
 * README: "Running out of file descriptors refuses connections; it does not stop the service (on
 * Deno, whose HTTP server stops after a failed accept, that server is started again at once)".
 * Deno only: Bun's server is not restarted (its accept does not end it). A failed accept cannot be
 * caused on demand, so the test stops the inner server as one does: its listener closes and its
 * `finished` rejects.
 */
import { connect } from "node:net";
import { assertEquals } from "../../support/assert.ts";
import { type DenoServe, serveHttp } from "../../../src/http/serve.ts";

/** A request on a fresh connection; its status line, or "" when the connection was dropped. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => resolve(text.split("\r\n")[0] ?? ""));
    socket.once("connect", () => {
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("on Deno, an HTTP server that stops after a failed accept is started again at once", async () => {
  const problems: string[] = [];
  const fails: ((error: Error) => Promise<void>)[] = [];
  // Deno.serve, but the test can stop a server the way a failed accept does.
  const denoServe: DenoServe = (options, handler) => {
    const real = Deno.serve(options, handler);
    let failed!: (error: Error) => void;
    const finished = Promise.race([
      real.finished,
      new Promise<never>((_resolve, reject) => (failed = reject)),
    ]);
    fails.push(async (error) => {
      failed(error); // first: the real server's shutdown resolves its own `finished`
      await real.shutdown();
    });
    return { finished, shutdown: () => real.shutdown() };
  };
  const server = await serveHttp(
    {
      host: "127.0.0.1",
      port: 0,
      tls: undefined,
      maxConnections: 20,
      maxConnectionsPerClient: 20,
      headerTimeoutMs: 1000,
      idleTimeoutMs: 1000,
      onProblem: (problem) => problems.push(problem),
      denoServe,
    },
    () => new Response("ok"),
  );
  try {
    assertEquals(await get(server.port), "HTTP/1.1 200 OK");
    assertEquals(fails.length, 1);
    await fails[0]!(new Error("Too many open files (os error 24)"));
    for (let i = 0; i < 50 && problems.length === 0; i++) await sleep(10);
    assertEquals(problems, [
      "HTTP server stopped (Error: Too many open files (os error 24)); starting it again",
    ]);
    // Started again after RESTART_DELAY_MS (100 ms), on a new port the guard relays to.
    await sleep(250);
    assertEquals(await get(server.port), "HTTP/1.1 200 OK");
    assertEquals(fails.length, 2, "the HTTP server was not started once more");
  } finally {
    await server.close();
  }
});
