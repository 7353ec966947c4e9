/**
 * What the connection guard costs: the same handler served through `serveHttp` (guard + relay
 * to the runtime's server) and by the runtime's server alone, on Deno and Bun, each in its own
 * process, loaded from this one over 127.0.0.1: keep-alive requests (16 connections) and one
 * request per new connection.
 *
 *   deno run -A bench/guard_cost.ts [--seconds 5]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { connect } from "node:net";
import { serveHttp } from "../src/http/serve.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { serve: { type: "string" }, seconds: { type: "string", default: "5" } },
});

const handler = () => new Response("ok");

if (values.serve !== undefined) {
  // Child: serve and print the port.
  let port: number;
  if (values.serve === "guarded") {
    const server = await serveHttp({
      host: "127.0.0.1",
      port: 0,
      maxConnections: 256,
      maxConnectionsPerClient: 256,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 10_000,
    }, handler);
    port = server.port;
  } else if ("Bun" in globalThis) {
    const bun = (globalThis as unknown as {
      Bun: { serve(o: unknown): { port: number } };
    }).Bun;
    port = bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler }).port;
  } else {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    port = (server.addr as Deno.NetAddr).port;
  }
  console.log(port);
} else {
  const seconds = Number(values.seconds);
  const self = new URL(import.meta.url).pathname;
  const rows: string[] = [];
  for (const runtime of ["deno", "bun"] as const) {
    for (const mode of ["plain", "guarded"] as const) {
      const child = new Deno.Command("sh", {
        args: [
          "-c",
          runtime === "deno"
            ? `exec "${Deno.execPath()}" run -A "${self}" --serve ${mode}`
            : `exec bun "${self}" --serve ${mode}`,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await reader.read()).value?.trim());
      const keepAlive = await load(port, seconds, true);
      const fresh = await load(port, seconds, false);
      rows.push(
        `${runtime.padEnd(5)} ${mode.padEnd(8)} keep-alive ${
          keepAlive.toFixed(0).padStart(6)
        } req/s` +
          `   new connection each ${fresh.toFixed(0).padStart(6)} req/s`,
      );
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  }
  console.log(rows.join("\n"));
}

/** Requests per second from 16 concurrent raw HTTP/1.1 clients. */
async function load(port: number, seconds: number, keepAlive: boolean): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const request = `GET /healthz HTTP/1.1\r\nHost: x\r\n${
    keepAlive ? "" : "Connection: close\r\n"
  }\r\n`;
  const worker = () =>
    new Promise<void>((resolve) => {
      const open = () => {
        const socket = connect({ host: "127.0.0.1", port });
        let text = "";
        socket.on("connect", () => socket.write(request));
        socket.on("error", () => {});
        socket.on("data", (chunk) => {
          text += chunk.toString();
          if (!text.endsWith("ok")) return;
          done++;
          text = "";
          if (performance.now() >= deadline) {
            socket.destroy();
            resolve();
          } else if (keepAlive) socket.write(request);
          else {
            socket.destroy();
            open();
          }
        });
      };
      open();
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, worker));
  return done / ((performance.now() - started) / 1000);
}
