/**
 * Figures for the slow-client attack (issue 11): the service under a small open-file limit,
 * attacked on 127.0.0.1 by connections that send nothing, drip an endless header in, or go
 * idle after one request, while a normal client asks /healthz every 100 ms.
 *
 *   deno run -A bench/slow_clients.ts [--runtime deno|binary] [--open-files 256]
 *     [--silent 300] [--drip 150] [--idle 50] [--seconds 30] [--http "max_connections = 1000"]
 *     [--root /path/to/other/checkout]
 *
 * The tests (tests/binary/slow_clients_test.ts) assert the behaviour; this prints the numbers.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { slowClientAttack } from "../tests/support/slow_client_attack.ts";
import { startTarget } from "../tests/support/listener_target.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtime: { type: "string", default: "deno" },
    "open-files": { type: "string", default: "256" },
    silent: { type: "string", default: "300" },
    drip: { type: "string", default: "150" },
    idle: { type: "string", default: "50" },
    seconds: { type: "string", default: "30" },
    http: { type: "string", multiple: true, default: [] },
    root: { type: "string" },
  },
});
const runtime = values.runtime === "binary" ? "binary" : "deno";
const target = await startTarget({
  runtime,
  openFiles: Number(values["open-files"]),
  httpLines: values.http,
  ...(values.root ? { root: values.root } : {}),
});
try {
  const figures = await slowClientAttack({
    port: target.port,
    silent: Number(values.silent),
    drip: Number(values.drip),
    idle: Number(values.idle),
    dripIntervalMs: 1000,
    durationMs: Number(values.seconds) * 1000,
    drainMs: 20_000,
    // Another loopback address of this host: a benchmark, run by hand (the tests run the attack
    // in a namespace of their own).
    normalFrom: "127.0.0.2",
  });
  const exited = target.exited();
  console.log(JSON.stringify(
    {
      runtime,
      openFiles: Number(values["open-files"]),
      ...figures,
      serviceAlive: exited === undefined,
      exitCode: exited?.code,
    },
    null,
    2,
  ));
  const warnings = target.stderr().split("\n").filter((line) => line.trim() !== "");
  console.log(warnings.slice(0, 10).join("\n"));
} finally {
  await target.stop();
}
