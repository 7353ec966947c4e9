/**
 * What the connection guard costs: the same handler served through `serveHttp` (guard + relay
 * to the runtime's server) and by the runtime's server alone, on Deno and Bun, each in its own
 * process, loaded from this one over 127.0.0.1: keep-alive requests (16 connections) as fast as
 * they are answered and at a paced `--rate` (requests/s), and one request per new connection. The
 * server's CPU per request is read from /proc: a saturated server handles many sockets' events in
 * one event-loop turn, a paced one (a login's three requests among other work) wakes up for each,
 * so the relay's extra turns cost more per request there.
 *
 *   deno run -A bench/guard_cost.ts [--seconds 5] [--rate 900]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { connect } from "node:net";
import { serveHttp } from "../src/http/serve.ts";
import { BUN, BUN_ENV, cpuTimes, DENO } from "./lib/proc.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    serve: { type: "string" },
    seconds: { type: "string", default: "5" },
    rate: { type: "string", default: "900" },
  },
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
      const child = new Deno.Command(runtime === "deno" ? DENO : BUN, {
        args: runtime === "deno" ? ["run", "-A", self, "--serve", mode] : [self, "--serve", mode],
        // Bun as the binary runs (its allocator setting); Deno as `deno run` does.
        env: runtime === "deno" ? {} : { ...BUN_ENV },
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await reader.read()).value?.trim());
      const measure = (keepAlive: boolean, rate = 0) =>
        serverCpu(child.pid, () => load(port, seconds, keepAlive, rate));
      const keepAlive = await measure(true);
      const paced = await measure(true, Number(values.rate));
      const fresh = await measure(false);
      rows.push(
        `${runtime.padEnd(5)} ${mode.padEnd(8)} keep-alive ${
          keepAlive.perSecond.toFixed(0).padStart(6)
        }` +
          ` req/s ${keepAlive.cpu}   paced ${paced.perSecond.toFixed(0)} req/s ${paced.cpu}` +
          `   new connection each ${fresh.perSecond.toFixed(0).padStart(6)} req/s ${fresh.cpu}`,
      );
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  }
  console.log(rows.join("\n"));
}

/** The server's CPU (user + system, from /proc) per request answered during `body`. */
async function serverCpu(
  pid: number,
  body: () => Promise<{ perSecond: number; requests: number }>,
): Promise<{ perSecond: number; cpu: string }> {
  const before = cpuTimes(pid);
  const { perSecond, requests } = await body();
  const after = cpuTimes(pid);
  const perRequest = (ms: number) => ((ms * 1000) / requests).toFixed(0);
  const user = after.userMs - before.userMs;
  const sys = after.sysMs - before.sysMs;
  return {
    perSecond,
    cpu: `(CPU ${perRequest(user + sys)} µs/req, sys ${perRequest(sys)})`,
  };
}

/**
 * Requests from 16 concurrent raw HTTP/1.1 clients, as fast as they are answered or, with
 * `rate`, that many per second in all.
 */
async function load(
  port: number,
  seconds: number,
  keepAlive: boolean,
  rate = 0,
): Promise<{ perSecond: number; requests: number }> {
  const deadline = performance.now() + seconds * 1000;
  const workers = 16;
  const gapMs = rate > 0 ? (workers * 1000) / rate : 0;
  let done = 0;
  const request = `GET /healthz HTTP/1.1\r\nHost: x\r\n${
    keepAlive ? "" : "Connection: close\r\n"
  }\r\n`;
  const worker = (index: number) =>
    new Promise<void>((resolve) => {
      let next = performance.now() + (gapMs * index) / workers;
      const send = (socket: ReturnType<typeof connect>) => {
        const wait = next - performance.now();
        next += gapMs;
        if (wait > 0) setTimeout(() => socket.write(request), wait);
        else socket.write(request);
      };
      const open = () => {
        const socket = connect({ host: "127.0.0.1", port });
        let text = "";
        socket.on("connect", () => send(socket));
        socket.on("error", () => {});
        socket.on("data", (chunk) => {
          text += chunk.toString();
          if (!text.endsWith("ok")) return;
          done++;
          text = "";
          if (performance.now() >= deadline) {
            socket.destroy();
            resolve();
          } else if (keepAlive) send(socket);
          else {
            socket.destroy();
            open();
          }
        });
      };
      open();
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  return { perSecond: done / ((performance.now() - started) / 1000), requests: done };
}
