/**
 * The programs under test in B1/B2, each in its own process behind its own LoadServer: the
 * reference responder, and the bridge with a memory, a file or a Redis store (a redis-server of
 * its own on a free port, stopped by pid with the responder).
 */
import { benchCommonName } from "../lib/client_env.ts";
import { writeBenchConfig } from "../lib/bridge_config.ts";
import { LoadServer } from "../lib/load_server.ts";
import { clientListLine } from "../../tests/support/openvpn_side.ts";
import { dirname, fromFileUrl, join } from "../lib/paths.ts";
import { BUN, BUN_ENV, type Child, DENO, profileFlags, startChild } from "../lib/proc.ts";
import { DENO_V8_FLAGS_ARGUMENT } from "../../src/deno_v8_flags.ts";
import { removeDirs } from "../lib/scratch.ts";
import { freePort } from "../../tests/support/free_port.ts";
import { RedisServer } from "../../tests/support/redis_server.ts";

export type ResponderKind = "reference" | "bridge-memory" | "bridge-file" | "bridge-redis";
/**
 * Where the responders run: Deno, or Bun with the environment the released binary gives itself
 * (BUN_ENV), the bridge as its sources (the binary takes no prefilled store).
 */
export type Runtime = "deno" | "bun";

export interface Responder {
  kind: ResponderKind;
  server: LoadServer;
  child: Child;
  /** bridge-redis's redis-server (bench/tools/redis_counts.ts reads its counters). */
  redis?: RedisServer;
  stop(): Promise<void>;
}

const BACKENDS = {
  "bridge-memory": "memory",
  "bridge-file": "file",
  "bridge-redis": "redis",
} as const;

const LIB = join(dirname(fromFileUrl(import.meta.url)), "..", "lib");

/**
 * Starts a responder with `prefill` established sessions (clients 0..prefill-1, bound to
 * cids of the same number, all listed by `status 3`) and waits until it has read the client
 * list, i.e. is ready to answer. `denoFlags`: more `deno run` flags for a bridge on Deno (the
 * allocation profile's `--inspect`).
 */
export async function startResponder(
  kind: ResponderKind,
  prefill: number,
  runtime: Runtime = "deno",
  denoFlags: readonly string[] = [],
): Promise<Responder> {
  // A bridge runs with the service's V8 flags, as every Deno launch of it does; the reference
  // responder without them.
  const bridgeFlags = kind === "reference" ? [] : [...denoFlags, DENO_V8_FLAGS_ARGUMENT];
  const run = (script: string, args: string[]): Child =>
    runtime === "bun"
      ? startChild(BUN, [...profileFlags(), join(LIB, script), ...args], BUN_ENV)
      : startChild(DENO, [
        "run",
        "-A",
        ...bridgeFlags,
        ...profileFlags(),
        join(LIB, script),
        ...args,
      ]);
  const server = await LoadServer.start();
  server.clientList = Array.from(
    { length: prefill },
    (_, i) => clientListLine(i, benchCommonName(i)),
  );
  const ready = server.waitForLine((line) => line === "status 3", 180_000);
  let child: Child;
  let dir: string | undefined;
  const redis = kind === "bridge-redis" ? await RedisServer.start() : undefined;
  if (kind === "reference") {
    child = run("reference_responder.ts", [server.path]);
  } else {
    // The store file lives on the disk (not tmpfs): its fsyncs are part of the cost.
    const bridgeDir = writeBenchConfig(`bench-${kind}-`, {
      management: server.address,
      httpPort: await freePort(),
      issuer: "http://127.0.0.1:9/realms/vpn",
      clientSecret: "unused",
      backend: BACKENDS[kind],
      ...(redis ? { redisUrl: redis.url } : {}),
      metricsPort: await freePort(),
    });
    dir = bridgeDir.dir;
    const configPath = bridgeDir.configPath;
    child = run("bridge_child.ts", [configPath, String(prefill), String(prefill)]);
  }
  try {
    await ready;
  } catch (error) {
    await child.stop();
    await server.stop();
    await redis?.dispose();
    throw new Error(`${kind} did not come up: ${child.output().slice(-2000)}`, { cause: error });
  }
  return {
    kind,
    server,
    child,
    ...(redis ? { redis } : {}),
    async stop() {
      await child.stop();
      await server.stop();
      await redis?.dispose();
      if (dir) removeDirs(dir);
    },
  };
}
