/**
 * The two listeners and what a reload changes in them: the sign-in pages (the app is rebuilt
 * and swapped; the TLS certificate is read again and, only when it changed, served to new
 * connections while the listener stays bound and the requests under way finish) and the
 * metrics endpoint (started, moved or stopped). A reload is two steps, so that everything that
 * can fail (templates, certificate files, a certificate the runtime refuses, a metrics address
 * that cannot be bound) fails before anything changes; what is left to fail in force (serving
 * the certificate, moving the metrics endpoint to another host on its port) puts the old
 * certificate and endpoint back.
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
  const server = await serveHttp({ ...listen, tls, ...deps.limits }, handler);
  let metricsListen = config.metrics.listen;
  const startMetrics = async (at: ResolvedConfig["metrics"]["listen"]) => {
    const started = at
      ? await serveMetrics({ ...at, ...deps.limits }, deps.renderMetrics)
      : undefined;
    if (at) deps.log.info("Serving metrics on {host}:{port}", { ...at, port: started!.port });
    return started;
  };
  let metrics: HttpServer | undefined;
  try {
    metrics = await startMetrics(metricsListen);
  } catch (error) {
    // Not started as a whole: the sign-in listener is not left bound.
    await server.close();
    throw error;
  }

  return {
    get port() {
      return server.port;
    },
    async prepare(next) {
      const nextApp = await deps.buildApp(next);
      const nextTls = readTls(next);
      const tlsChanged = JSON.stringify(nextTls ?? null) !== JSON.stringify(tls ?? null);
      // A certificate or key the runtime refuses (a file caught mid-copy, an encrypted key) is
      // refused here, on a private port, before the listener in use is touched.
      if (tlsChanged && nextTls) {
        await (await serveHttp(
          { host: "127.0.0.1", port: 0, tls: nextTls, ...deps.limits },
          handler,
        ))
          .close();
      }
      const metricsChanged = JSON.stringify(next.metrics.listen) !== JSON.stringify(metricsListen);
      // Bound now: an address in use or not on this host fails the reload, not the endpoint.
      // Only a move to another host on the port in use here (127.0.0.1:9100 to 0.0.0.0:9100)
      // must free it first: that one is bound in force, and the old one is put back if it fails.
      const samePort = next.metrics.listen !== undefined &&
        next.metrics.listen.port === metricsListen?.port;
      const nextMetrics = metricsChanged && !samePort
        ? await startMetrics(next.metrics.listen)
        : undefined;
      return async () => {
        if (tlsChanged) {
          try {
            // The listener stays bound: a certificate renewal (certbot, then a reload) must
            // neither refuse connections nor drop the requests under way.
            await server.reloadTls(nextTls);
          } catch (error) {
            await nextMetrics?.close();
            throw error;
          }
        }
        if (metricsChanged) {
          await metrics?.close();
          if (samePort) {
            try {
              metrics = await startMetrics(next.metrics.listen);
            } catch (error) {
              // Refused whole: the old endpoint and the old certificate back.
              metrics = await startMetrics(metricsListen);
              if (tlsChanged) await server.reloadTls(tls);
              throw error;
            }
          } else metrics = nextMetrics;
          metricsListen = next.metrics.listen;
        }
        if (tlsChanged) tls = nextTls;
        app = nextApp;
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
