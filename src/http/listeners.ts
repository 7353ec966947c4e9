/**
 * The two listeners and what a reload changes in them: the sign-in pages (the app is rebuilt
 * and swapped; the TLS certificate is read again and the listener restarted only when it
 * changed) and the metrics endpoint (started, moved or stopped). A reload is two steps, so
 * that everything that can fail (templates, certificate files) fails before anything changes.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "@logtape/logtape";
import type { ResolvedConfig } from "../config/types.ts";
import { serveMetrics } from "./metrics_endpoint.ts";
import { type FetchHandler, type HttpServer, serveHttp, type ServeOptions } from "./serve.ts";

export type ConnectionLimits = Omit<ServeOptions, "host" | "port" | "tls">;

/** The `[http]` caps every listener of ours is served with (the service's and the probe's). */
export function connectionLimits(config: ResolvedConfig) {
  const { maxConnections, maxConnectionsPerClient, headerTimeoutMs, idleTimeoutMs } = config.http;
  return { maxConnections, maxConnectionsPerClient, headerTimeoutMs, idleTimeoutMs };
}

export interface ListenerDeps {
  /** The sign-in app for a config (pages, language, confirm step, proxies). */
  buildApp(config: ResolvedConfig): Promise<{ fetch: FetchHandler }>;
  renderMetrics(): Promise<string>;
  limits: ConnectionLimits;
  log: Logger;
}

export interface Listeners {
  /** The port the sign-in pages listen on. */
  readonly port: number;
  /**
   * Builds what `config` needs (throws, changing nothing, when it cannot); the returned
   * function puts it in force.
   */
  prepare(config: ResolvedConfig): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export async function startListeners(
  config: ResolvedConfig,
  deps: ListenerDeps,
): Promise<Listeners> {
  // Never changes while running: a new address needs a restart.
  const listen = config.http.listen;
  let app = await deps.buildApp(config);
  let tls = readTls(config);
  const handler: FetchHandler = (request, env) => app.fetch(request, env);
  let server = await serveHttp({ ...listen, tls, ...deps.limits }, handler);
  let metricsListen = config.metrics.listen;
  let metrics: HttpServer | undefined;
  const serveMetricsAt = async (at: ResolvedConfig["metrics"]["listen"]) => {
    await metrics?.close();
    metrics = at ? await serveMetrics({ ...at, ...deps.limits }, deps.renderMetrics) : undefined;
    metricsListen = at;
    if (at) deps.log.info("Serving metrics on {host}:{port}", { ...at, port: metrics!.port });
  };
  await serveMetricsAt(metricsListen);

  return {
    get port() {
      return server.port;
    },
    async prepare(next) {
      const nextApp = await deps.buildApp(next);
      const nextTls = readTls(next);
      return async () => {
        app = nextApp;
        if (JSON.stringify(nextTls ?? null) !== JSON.stringify(tls ?? null)) {
          await server.close();
          server = await serveHttp({ ...listen, tls: nextTls, ...deps.limits }, handler);
          tls = nextTls;
        }
        if (JSON.stringify(next.metrics.listen) !== JSON.stringify(metricsListen)) {
          await serveMetricsAt(next.metrics.listen);
        }
      };
    },
    async close() {
      await server.close();
      await metrics?.close();
    },
  };
}

/** The certificate and key PEMs, when `http.tls_cert_file` and `http.tls_key_file` are set. */
export function readTls(
  config: ResolvedConfig,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): { cert: string; key: string } | undefined {
  const { tlsCertFile, tlsKeyFile } = config.http;
  return tlsCertFile && tlsKeyFile ? { cert: read(tlsCertFile), key: read(tlsKeyFile) } : undefined;
}
