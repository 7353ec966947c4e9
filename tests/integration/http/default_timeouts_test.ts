/**
 * The README promises the listener's defaults against slow clients: headers within
 * `http.header_timeout` (10 s), an idle keep-alive connection closed after `http.idle_timeout`
 * (10 s), a request may run 60 s, at most `http.max_connections_per_client` (32) and
 * `http.max_connections` (256). The tests of that behaviour pass short values of their own, so
 * the shipped ones are pinned here, along the daemon's path: a minimal config, its
 * connectionLimits() as the daemon passes them to startListeners(), and the options the
 * connection guard is started with.
 */
import type { Logger } from "@logtape/logtape";
import { assertEquals } from "../../support/assert.ts";
import { MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { ConnectionGuard, type GuardOptions } from "../../../src/http/connection_guard.ts";
import { connectionLimits, startListeners } from "../../../src/http/listeners.ts";

/** The minimal config, listening on a port the kernel picks. */
function minimalConfig(): ResolvedConfig {
  const { config } = parseTestConfig(MINIMAL_TOML);
  return { ...config, http: { ...config.http, listen: { host: "127.0.0.1", port: 0 } } };
}

/** Runs `body` with every ConnectionGuard.start() recorded; returns the options each got. */
async function guardStartsDuring(body: () => Promise<void>): Promise<GuardOptions[]> {
  const start = ConnectionGuard.start;
  const started: GuardOptions[] = [];
  ConnectionGuard.start = (options) => {
    started.push(options);
    return start.call(ConnectionGuard, options);
  };
  try {
    await body();
  } finally {
    ConnectionGuard.start = start;
  }
  return started;
}

Deno.test("connectionLimits() of a minimal config are the README's caps and timeouts (README)", () => {
  assertEquals(connectionLimits(minimalConfig()), {
    maxConnections: 256,
    maxConnectionsPerClient: 32,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
  });
});

Deno.test("the sign-in listener's guard times out headers and idle connections after 10 s and requests after 60 s by default (README)", async () => {
  const config = minimalConfig();
  const started = await guardStartsDuring(async () => {
    // As src/daemon.ts starts them: only connectionLimits() and the live extras, no timeouts.
    const listeners = await startListeners(config, {
      buildApp: () => Promise.resolve({ fetch: () => new Response("ok") }),
      renderMetrics: () => Promise.resolve(""),
      limits: {
        ...connectionLimits(config),
        trustedProxies: () => config.http.trustedProxies,
        onProblem: () => {},
      },
      log: { info: () => {} } as unknown as Logger,
    });
    await listeners.close();
  });
  assertEquals(
    started.map(({ headerTimeoutMs, idleTimeoutMs, requestTimeoutMs }) => ({
      headerTimeoutMs,
      idleTimeoutMs,
      requestTimeoutMs,
    })),
    [{ headerTimeoutMs: 10_000, idleTimeoutMs: 10_000, requestTimeoutMs: 60_000 }],
  );
});
