/**
 * What `sessions list` costs the running service: the binary on a file store with N sessions
 * (10,000 bound), asked for `sessions list --json` by a second process of the binary, while this
 * one asks `/healthz` every 2 ms. Prints, per run, how long the command took, its exit code and
 * the longest `/healthz` answer meanwhile (how long the service answered nothing else).
 *
 *   deno run -A bench/admin_list.ts [--sessions 100000] [--runs 3] [--binary dist/openvpn-auth-oidc]
 *
 * Filling 1,000,000 sessions takes about a minute (on tmpfs); `--keep DIR` keeps the filled file
 * there for the next run.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { parseInlineToml } from "../tests/support/config_toml.ts";
import { freePort } from "../tests/support/free_port.ts";
import { waitForHealthz } from "../tests/support/service_process.ts";
import { benchConfigToml } from "./lib/bridge_config.ts";
import { bulkFill } from "./lib/bulk_fill.ts";
import { BINARY } from "./scenarios/memory_startup.ts";
import { copySqliteFile, removeDirs, tmpfsDir } from "./lib/scratch.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sessions: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    binary: { type: "string", default: BINARY },
    keep: { type: "string" },
  },
});
const sessions = Number(values.sessions);
const binary = values.binary;

const dir = tmpfsDir("bench-admin-list-");
const port = await freePort();
const storePath = join(dir, "sessions.sqlite");
const configPath = join(dir, "bench.toml");
const toml = benchConfigToml({
  management: "tcp://127.0.0.1:9",
  httpPort: port,
  issuer: "http://127.0.0.1:9/realms/vpn",
  clientSecret: "unused",
  backend: "file",
  storePath,
  maxEntries: Math.max(400_000, sessions * 2),
});
writeFileSync(configPath, toml);
const { config } = parseInlineToml(toml, configPath);
const filled = values.keep === undefined ? storePath : join(values.keep, "sessions.sqlite");
if (!existsSync(filled)) {
  await bulkFill({ ...config.sessions, path: filled }, config.http.secret, sessions, 10_000);
}
if (filled !== storePath) copySqliteFile(filled, storePath);

const service = spawn(binary, ["--config", configPath], { stdio: "ignore" });
try {
  (await waitForHealthz(port)).body?.cancel();
  for (let run = 0; run < Number(values.runs); run++) {
    let longest = 0;
    let listing = true;
    const watch = (async () => {
      while (listing) {
        const asked = performance.now();
        // A /healthz that fails counts as an endless wait; the run still ends cleanly.
        const answered = await fetch(`http://127.0.0.1:${port}/healthz`)
          .then((answer) => answer.body?.cancel()).then(() => true, () => false);
        longest = answered ? Math.max(longest, performance.now() - asked) : Infinity;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const started = performance.now();
    const code = await new Promise<number>((resolve) => {
      const list = spawn(binary, ["sessions", "list", "--json", "--config", configPath], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      list.on("exit", (exit) => resolve(exit ?? -1));
      list.on("error", () => resolve(-1));
    });
    const tookMs = performance.now() - started;
    listing = false;
    await watch;
    console.log(
      `${sessions} sessions: sessions list exit ${code} in ${Math.round(tookMs)} ms; ` +
        `longest /healthz meanwhile ${longest.toFixed(1)} ms`,
    );
  }
} finally {
  if (service.exitCode === null && service.signalCode === null) {
    service.kill("SIGTERM");
    await new Promise((resolve) => service.once("exit", resolve));
  }
  removeDirs(dir);
}
