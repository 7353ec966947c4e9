/**
 * Starts the HTTP listener on whichever runtime runs us: `Deno.serve` or `Bun.serve`. Code that
 * differs by runtime is kept to a few files like this one (the guard's sockets in
 * guard_transport*.ts, the IdP's TLS in oidc/idp_transport.ts, how sessions are copied in
 * sessions/entry_check.ts); the app itself is web-standard `fetch` handling. The handler
 * receives the browser's address, which Hono's app gets as `c.env.remoteAddr`.
 *
 * Browsers connect to a ConnectionGuard (connection cap and timeouts, which neither runtime's
 * server offers completely), which relays to the runtime's HTTP server on a private loopback
 * port; the handler learns from the guard which browser a relayed connection belongs to. TLS
 * ends at that HTTP server, so a new certificate is a new HTTP server behind the same guard.
 */
import { readFileSync } from "node:fs";
import { liveTrustedProxies } from "./client_ip.ts";
import { ConnectionGuard, type GuardStats } from "./connection_guard.ts";
import { type GuardTransport, RELAY_HOST } from "./relay_socket.ts";
import { MAX_REQUEST_BODY_BYTES } from "./routes.ts";
import { readStreamWithin } from "../read_stream_within.ts";

export interface HttpEnv {
  remoteAddr: string;
}

export type FetchHandler = (request: Request, env: HttpEnv) => Response | Promise<Response>;

export interface ServeOptions {
  host: string;
  port: number;
  /** PEM contents, not paths. */
  tls?: { cert: string; key: string } | undefined;
  maxConnections: number;
  /** Per client address (IPv6: per /64); trusted proxies are exempt. */
  maxConnectionsPerClient: number;
  /**
   * Reverse proxies in front of us (`http.trusted_proxies`): not capped per client. A function
   * is asked again when the list may change (reload).
   */
  trustedProxies?: readonly string[] | (() => readonly string[]);
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Told about the listener's troubles (out of file descriptors, a lowered cap). */
  onProblem?: (problem: string) => void;
  /**
   * The guard's sockets (default: the runtime's). Tests give one whose connections report
   * other client addresses, so that several clients are seen without binding other addresses.
   */
  transport?: GuardTransport;
  /**
   * How long a request may run before its connection is closed (default REQUEST_TIMEOUT_MS;
   * tests shorten it, to at least HTTP_TIMEOUT_LIMITS_MS.min like the other timeouts).
   */
  requestTimeoutMs?: number;
  /**
   * Starts the HTTP server behind the guard on Deno (default: `Deno.serve`; unused on Bun).
   * Tests give one whose server they stop as a failed accept stops it (out of file descriptors,
   * which they cannot cause on demand), to see it started again.
   */
  denoServe?: DenoServe;
}

/** The part of `Deno.serve` that serveHttp uses. */
export type DenoServe = (
  options: Deno.ServeTcpOptions & Partial<Deno.TlsCertifiedKeyPem>,
  handler: Deno.ServeHandler<Deno.NetAddr>,
) => Pick<Deno.HttpServer, "finished" | "shutdown">;

export interface HttpServer {
  readonly port: number;
  /** Connection counters of the guard (open, refused, timed out, evicted). */
  readonly stats: () => Readonly<GuardStats>;
  /**
   * Serves new connections with `tls` (PEM contents; undefined: plain HTTP), from an HTTP server
   * started for it, while the one it replaces finishes the requests under way in the background
   * (a browser's next connection gets the new certificate). The port stays bound throughout.
   * Throws, changing nothing, when the runtime refuses the certificate.
   */
  reloadTls(tls: ServeOptions["tls"]): Promise<void>;
  /**
   * Stops accepting connections, finishes the answers under way (the requests, then relaying
   * what they answered), and closes the connections left.
   */
  close(): Promise<void>;
}

interface BunServer {
  port: number;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

interface BunRuntime {
  serve(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    idleTimeout?: number;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
    error?(error: Error): Response;
  }): BunServer;
}

const runtime = globalThis as unknown as { Bun?: BunRuntime };
/**
 * How long a stop waits, at each of its two steps, for the answers under way: Bun's HTTP server
 * for its requests (Deno's waits for them all), then the guard for relaying what was answered
 * to the browsers and for them to close; whatever is left is closed then.
 */
const CLOSE_GRACE_MS = 2000;

/** A request may run this long (slow IdP calls included) before its connection is closed. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Descriptors kept for everything else (store, management link, IdP calls, logs). */
const RESERVED_DESCRIPTORS = 64;
/** Each relayed connection holds three descriptors: browser, relay, HTTP server side. */
const DESCRIPTORS_PER_CONNECTION = 3;
const RESTART_DELAY_MS = 100;

/**
 * The HTTP server behind the guard, on a private port; `peer` is the connection's far end, the
 * relay socket's address and port, and `serverPort` the port of the server that took it.
 */
type PeerHandler = (
  request: Request,
  peer: { host: string; port: number; serverPort: number },
) => Promise<Response>;
interface InnerServer {
  readonly port: number;
  /** Takes no new connections, closes those between requests, and finishes the rest. */
  retire(): Promise<void>;
  /** retire(), bounded by CLOSE_GRACE_MS on Bun, then every connection closed. */
  close(): Promise<void>;
}

export async function serveHttp(
  options: ServeOptions,
  handler: FetchHandler,
): Promise<HttpServer> {
  const onProblem = options.onProblem ?? (() => {});
  let guard: ConnectionGuard | undefined;
  const relayed: PeerHandler = async (request, { host, port: peerPort, serverPort }) => {
    // Only the guard's relay sockets are served: a local process that found the private port
    // must not bypass the limits. Their port alone does not name them: another loopback
    // address (127.0.0.2) can bind the same port number.
    const remoteAddr = host === RELAY_HOST ? guard?.remoteAddrOf(peerPort, serverPort) : undefined;
    if (remoteAddr === undefined) return new Response("Forbidden", { status: 403 });
    // The body arrives before the request counts as started: until then the guard holds the
    // connection to the header timeout and evicts it first, as it does a slow request header.
    // Started at its headers, a connection that drips a body was kept for the request timeout,
    // and rotating such connections took every slot.
    const whole = await withWholeBody(request, MAX_REQUEST_BODY_BYTES);
    guard!.requestStarted(peerPort, serverPort);
    try {
      if (whole === undefined) return payloadTooLarge();
      return await handler(whole, { remoteAddr });
    } finally {
      guard!.requestEnded(peerPort, serverPort);
    }
  };
  const startInner = async (tls: ServeOptions["tls"]) =>
    runtime.Bun
      ? serveBun(runtime.Bun, tls, relayed)
      : await serveDeno(tls, relayed, onProblem, options.denoServe ?? Deno.serve);
  let inner = await startInner(options.tls);
  /** Servers replaced by a certificate reload, finishing their requests. */
  const retiring = new Set<InnerServer>();
  try {
    guard = await ConnectionGuard.start({
      host: options.host,
      port: options.port,
      targetPort: () => inner.port,
      maxConnections: connectionCap(options.maxConnections, onProblem),
      maxConnectionsPerClient: options.maxConnectionsPerClient,
      isExempt: liveTrustedProxies(options.trustedProxies ?? []),
      headerTimeoutMs: options.headerTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      onProblem,
      ...(options.transport ? { transport: options.transport } : {}),
    });
  } catch (error) {
    await inner.close();
    throw error;
  }
  const running = guard;
  // Once: a reload's rollback and a later stop may both close it, and a Deno listener closed
  // twice throws (BadResource), which stopped the rollback and then the whole stop.
  let closed: Promise<void> | undefined;
  return {
    port: running.port ?? options.port,
    stats: () => running.stats,
    async reloadTls(tls) {
      if (closed) throw new Error("The HTTP listener is closed: its certificate cannot change");
      const next = await startInner(tls);
      if (closed) {
        await next.close();
        throw new Error("The HTTP listener was closed during a certificate reload");
      }
      const old = inner;
      const oldPort = old.port;
      inner = next;
      retiring.add(old);
      // Connections the old server took but has no request on yet would be dropped by its
      // close (a browser's request on a new connection, with the old certificate or on its way).
      void running.firstRequestsStarted(oldPort)
        .then(() => old.retire())
        .catch((error) => onProblem(`closing the replaced HTTP server failed: ${String(error)}`))
        .finally(() => retiring.delete(old));
    },
    close: () =>
      closed ??= (async () => {
        running.stopAccepting();
        await Promise.all([inner, ...retiring].map((server) => server.close()));
        // The HTTP servers have written their answers to the relay sockets; the guard passes
        // them on, and each connection ends once its browser has read to the end and closed.
        // Browsers that do not (a slow reader, one that keeps its side open) are closed after
        // a while.
        await settledWithin(CLOSE_GRACE_MS, running.allEnded());
        running.closeAll();
      })(),
  };
}

/**
 * The request with its body read to the end, or undefined when that body is larger than
 * `maxBytes` (declared so, or seen while reading). A request without a body (every GET and HEAD)
 * is handed on as it is.
 */
async function withWholeBody(request: Request, maxBytes: number): Promise<Request | undefined> {
  if (request.body === null) return request;
  if (Number(request.headers.get("content-length")) > maxBytes) return undefined;
  const body = await readStreamWithin(request.body, maxBytes);
  if (body === undefined) return undefined;
  // Not `new Request(request, ...)`: that follows the request's signal, and Deno then prints a
  // warning that the signal aborts after every response. No route uses the signal.
  return new Request(request.url, { method: request.method, headers: request.headers, body });
}

/** The rest of the body is never read: the connection cannot carry another request. */
function payloadTooLarge(): Response {
  return new Response("Payload Too Large", { status: 413, headers: { connection: "close" } });
}

/** Waits for `promise`, for at most `ms`. */
async function settledWithin(ms: number, promise: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The configured cap, lowered to what the open-file limit allows (Linux: /proc/self/limits),
 * so that the listener refuses connections rather than running out of descriptors.
 */
function connectionCap(configured: number, onProblem: (problem: string) => void): number {
  const limit = openFileLimit();
  if (limit === undefined) return configured;
  const fits = Math.max(1, Math.floor((limit - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION));
  if (fits >= configured) return configured;
  onProblem(
    `http.max_connections lowered from ${configured} to ${fits}: the open-file limit is ${limit} ` +
      `(raise it, e.g. LimitNOFILE= in the service unit)`,
  );
  return fits;
}

function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * Deno's HTTP server stops for good when an accept fails (out of file descriptors): it is
 * started again on a fresh port, which the guard relays to from then on.
 */
async function serveDeno(
  tls: ServeOptions["tls"],
  handler: PeerHandler,
  onProblem: (problem: string) => void,
  denoServe: DenoServe,
): Promise<InnerServer> {
  let current: ReturnType<DenoServe> | undefined;
  let port = 0;
  let closing: Promise<void> | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      try {
        let serverPort = 0;
        const server = denoServe(
          {
            hostname: RELAY_HOST,
            port: 0,
            ...(tls ?? {}),
            onListen: (address) => {
              serverPort = port = (address as Deno.NetAddr).port;
              resolve();
            },
            onError: () => new Response("Internal Server Error", { status: 500 }),
          },
          (request, info) => {
            const { hostname, port } = info.remoteAddr as Deno.NetAddr;
            return handler(request, { host: hostname, port, serverPort });
          },
        );
        current = server;
        server.finished.catch((error) => {
          if (closing) return;
          onProblem(`HTTP server stopped (${String(error)}); starting it again`);
          restart();
        });
      } catch (error) {
        reject(error);
      }
    });
  const restart = () => {
    setTimeout(() => {
      if (!closing) start().catch(restart);
    }, RESTART_DELAY_MS);
  };
  await start();
  // Deno's shutdown closes idle connections at once and waits for every request under way.
  const retire = () => closing ??= current?.shutdown().catch(() => {}) ?? Promise.resolve();
  return {
    get port() {
      return port;
    },
    retire,
    close: retire,
  };
}

function serveBun(
  bun: BunRuntime,
  tls: ServeOptions["tls"],
  handler: PeerHandler,
): InnerServer {
  // Its own port, kept: a stopping server no longer reports it.
  let serverPort = 0;
  const server = bun.serve({
    hostname: RELAY_HOST,
    port: 0,
    ...(tls ? { tls } : {}),
    // The guard times connections out; Bun's own idle timeout would also cut a request that
    // waits longer than 10 s for the IdP.
    idleTimeout: 0,
    fetch: (request, bunServer) => {
      const peer = bunServer.requestIP(request);
      return handler(request, { host: peer?.address ?? "", port: peer?.port ?? 0, serverPort });
    },
    error: () => new Response("Internal Server Error", { status: 500 }),
  });
  serverPort = server.port;
  // Bun's graceful stop closes idle connections at once but also waits for those whose request
  // has not arrived (the guard times those out) and for the requests under way.
  let stopping: Promise<void> | undefined;
  const retire = () => stopping ??= Promise.resolve(server.stop(false));
  return {
    port: serverPort,
    retire,
    close: async () => {
      await settledWithin(CLOSE_GRACE_MS, retire());
      await server.stop(true);
    },
  };
}
