/**
 * Starts the HTTP listener on whichever runtime runs us: `Deno.serve` or `Bun.serve`. This is
 * the one runtime-specific file; everything else is web-standard `fetch` handling. The handler
 * receives the socket peer address, which Hono's app gets as `c.env.remoteAddr`.
 */
export interface HttpEnv {
  remoteAddr: string;
}

export type FetchHandler = (request: Request, env: HttpEnv) => Response | Promise<Response>;

export interface ServeOptions {
  host: string;
  port: number;
  /** PEM contents, not paths. */
  tls?: { cert: string; key: string } | undefined;
}

export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

interface BunServer {
  port: number;
  requestIP(request: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

interface BunRuntime {
  serve(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
    error?(error: Error): Response;
  }): BunServer;
}

const runtime = globalThis as unknown as { Bun?: BunRuntime };
/** How long Bun's graceful stop may wait for in-flight requests before connections are closed. */
const BUN_CLOSE_GRACE_MS = 2000;

export function serveHttp(options: ServeOptions, handler: FetchHandler): Promise<HttpServer> {
  return runtime.Bun ? serveBun(runtime.Bun, options, handler) : serveDeno(options, handler);
}

function serveDeno(options: ServeOptions, handler: FetchHandler): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve(
        {
          hostname: options.host,
          port: options.port,
          ...(options.tls ?? {}),
          onListen: (address) => {
            resolve({
              port: (address as Deno.NetAddr).port,
              close: () => server.shutdown(),
            });
          },
          onError: () => new Response("Internal Server Error", { status: 500 }),
        },
        (request, info) =>
          handler(request, { remoteAddr: (info.remoteAddr as Deno.NetAddr).hostname }),
      );
    } catch (error) {
      reject(error);
    }
  });
}

function serveBun(
  bun: BunRuntime,
  options: ServeOptions,
  handler: FetchHandler,
): Promise<HttpServer> {
  const server = bun.serve({
    hostname: options.host,
    port: options.port,
    ...(options.tls ? { tls: options.tls } : {}),
    fetch: (request, bunServer) =>
      handler(request, { remoteAddr: bunServer.requestIP(request)?.address ?? "" }),
    error: () => new Response("Internal Server Error", { status: 500 }),
  });
  return Promise.resolve({
    port: server.port,
    close: async () => {
      // Bun's graceful stop also waits for idle keep-alive connections to time out (about 10 s
      // after a browser's last request); Deno's shutdown closes those at once. Give in-flight
      // requests a moment, then close whatever is left.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, BUN_CLOSE_GRACE_MS);
      });
      await Promise.race([Promise.resolve(server.stop(false)), grace]);
      clearTimeout(timer);
      await server.stop(true);
    },
  });
}
