/**
 * The `[metrics] listen` endpoint: `GET /metrics` in the Prometheus text format, nothing else.
 * A listener of its own, so it can stay on a loopback or management address while the sign-in
 * pages face users.
 */
import { type HttpServer, serveHttp, type ServeOptions } from "./serve.ts";
import { EXPOSITION_CONTENT_TYPE } from "../metrics/exposition.ts";
import { getLogger } from "../log.ts";
import { errorText } from "../error_text.ts";

const METRICS_PATH = "/metrics";
const log = getLogger("metrics");

/** The handler alone, for tests that drive it in process. */
export function metricsHandler(
  render: () => Promise<string>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== METRICS_PATH) return new Response("Not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    let body: string;
    try {
      body = await render();
    } catch (error) {
      // A failing source is left out by the registry, so this is a bug in rendering itself:
      // the server's own 500 would not say so anywhere.
      log.error("Metrics scrape failed: {error}", {
        error: errorText(error),
      });
      return new Response("Internal Server Error\n", { status: 500 });
    }
    return new Response(request.method === "HEAD" ? null : body, {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" },
    });
  };
}

/** `options`: the address and the same connection limits as the sign-in pages. */
export function serveMetrics(
  options: Omit<ServeOptions, "tls">,
  render: () => Promise<string>,
): Promise<HttpServer> {
  const handler = metricsHandler(render);
  return serveHttp(options, (request) => handler(request));
}
