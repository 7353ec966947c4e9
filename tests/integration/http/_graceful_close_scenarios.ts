/**
 * What a stop and a certificate reload do to the browsers connected at that moment, on whichever
 * runtime runs this (graceful_close_test.ts: Deno in process, Bun in a child, as the released
 * binary runs). Each scenario returns what it observed; the test asserts. Everything binds
 * 127.0.0.1 on ports the kernel picks.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { startListeners } from "../../../src/http/listeners.ts";
import { type FetchHandler, serveHttp } from "../../../src/http/serve.ts";

/** The page a browser waits for at the end of its sign-in. */
export const ANSWER = "You are connected";

/** Long timeouts: only a stop, never the guard's timers, can end the connections here. */
const LIMITS = {
  maxConnections: 20,
  maxConnectionsPerClient: 20,
  headerTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
};
/** Liveness guards, far above what each step needs; a step that misses one is reported. */
const BOUND_MS = 15_000;
/** For a held request to reach its handler (heldStarted). */
const REACH_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settled within `ms` (a bound for the test, not a timing assert). */
function settlesWithin(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `browser`'s request to reach the held handler, which takes milliseconds; one
 * refused on the way (a 403 from the relay) never does, and waiting on it hung the scenario.
 */
async function heldStarted(held: { started: Promise<void> }, browser: Browser): Promise<void> {
  let reached = false;
  void held.started.then(() => (reached = true));
  for (let i = 0; i < REACH_MS / 20 && !reached && !answered(browser); i++) await sleep(20);
  if (!reached) {
    throw new Error(
      `The held request never reached its handler; the browser got ${answerOf(browser)}`,
    );
  }
}

/** A handler held at `/held` until released; everything else is answered at once. */
function heldHandler() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let running!: () => void;
  const started = new Promise<void>((resolve) => (running = resolve));
  const fetch: FetchHandler = async (request) => {
    if (new URL(request.url).pathname === "/held") {
      running();
      await released;
    }
    return new Response(ANSWER);
  };
  return { fetch, started, release };
}

interface Browser {
  socket: Socket;
  /** Settles when the connection is up (TLS: handshake done), or failed. */
  ready: Promise<void>;
  /** Settles when the server has ended the connection (end of stream, or closed). */
  ended: Promise<void>;
  closed: Promise<void>;
  /** Everything received, and the error the connection ended with ("" for none). */
  text(): string;
  error(): string;
}

/**
 * A browser's connection; over TLS trusting only `ca` when given. With `holdOpen` it never
 * closes its side, even after the server has closed its own (a client that lingers).
 */
function browse(port: number, options: { ca?: string[]; holdOpen?: boolean } = {}): Browser {
  const socket = options.ca
    ? tlsConnect({ host: "127.0.0.1", port, ca: options.ca })
    : netConnect({ host: "127.0.0.1", port, allowHalfOpen: options.holdOpen ?? false });
  let text = "";
  let error = "";
  socket.on("data", (chunk) => (text += chunk.toString()));
  socket.on("error", (cause: NodeJS.ErrnoException) => (error ||= cause.code ?? cause.message));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const ended = Promise.race([closed, new Promise<void>((resolve) => socket.on("end", resolve))]);
  const ready = new Promise<void>((resolve) => {
    socket.once(options.ca ? "secureConnect" : "connect", () => resolve());
    socket.once("close", () => resolve());
  });
  return { socket, ready, ended, closed, text: () => text, error: () => error };
}

/**
 * Whether `browser` has its answer: the page, or a refusal (another status), which no wait
 * turns into the page: waiting for that to the bound only made a regression slow to report.
 */
function answered(browser: Browser): boolean {
  const text = browser.text();
  return text.endsWith(ANSWER) || (text.includes("\r\n\r\n") && !text.startsWith("HTTP/1.1 200 "));
}

/** A request on a fresh connection, as `status line | body`, or `failed: <error>`. */
async function request(port: number, path: string, ca?: string[]): Promise<string> {
  const browser = browse(port, ca ? { ca } : {});
  await browser.ready;
  browser.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  if (!(await settlesWithin(BOUND_MS, browser.closed))) browser.socket.destroy();
  return answerOf(browser);
}

/** What the browser got: `status line | body`, or how it failed. */
function answerOf(browser: Browser): string {
  const text = browser.text();
  const head = text.indexOf("\r\n\r\n");
  if (head < 0) return `failed: ${browser.error() || "closed"} after ${JSON.stringify(text)}`;
  return `${text.slice(0, text.indexOf("\r\n"))} | ${text.slice(head + 4)}`;
}

export interface HeldAtStop {
  /** The held request's answer (`status line | body`), or how it failed. */
  answer: string;
  /** close() settled within the bound. */
  stopped: boolean;
}

/**
 * SIGTERM while a sign-in's callback is still being handled: close() begins, the handler
 * finishes a moment later, and the browser (keep-alive, as browsers are) must get the page.
 */
export async function heldRequestAtStop(): Promise<HeldAtStop> {
  const held = heldHandler();
  const server = await serveHttp(
    { host: "127.0.0.1", port: 0, tls: undefined, ...LIMITS },
    held.fetch,
  );
  const browser = browse(server.port);
  try {
    await browser.ready;
    browser.socket.write("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    await heldStarted(held, browser);
    const closing = server.close();
    await sleep(100); // the handler finishes after the stop began
    held.release();
    const stopped = await settlesWithin(BOUND_MS, closing);
    await settlesWithin(BOUND_MS, browser.closed);
    return { answer: answerOf(browser), stopped };
  } finally {
    held.release();
    browser.socket.destroy();
    await server.close();
  }
}

export interface SlowClientsAtStop {
  /** close() settled within the bound, though the guard's own timeouts are 30 s. */
  stopped: boolean;
  /** Of the silent, the half-sent and the lingering client, how many the server ended. */
  clientsEnded: number;
  /** Connections the guard still held after close(). */
  openAfterStop: number;
  /** What the lingering client got for its request before the stop. */
  lingeringAnswer: string;
}

/**
 * A stop with clients that would hold it: one that sends nothing, one that sent half its
 * request headers, one that got its answer and keeps its side open after the server closes.
 */
export async function slowClientsAtStop(): Promise<SlowClientsAtStop> {
  const server = await serveHttp(
    { host: "127.0.0.1", port: 0, tls: undefined, ...LIMITS },
    () => new Response(ANSWER),
  );
  const silent = browse(server.port);
  const halfSent = browse(server.port);
  const lingering = browse(server.port, { holdOpen: true });
  const clients = [silent, halfSent, lingering];
  try {
    await Promise.all(clients.map((client) => client.ready));
    halfSent.socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    lingering.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < BOUND_MS / 20 && !answered(lingering); i++) await sleep(20);
    for (let i = 0; i < BOUND_MS / 20 && server.stats().open < clients.length; i++) await sleep(20);
    const stopped = await settlesWithin(BOUND_MS, server.close());
    const ended = await Promise.all(
      clients.map((client) => settlesWithin(BOUND_MS, client.ended)),
    );
    return {
      stopped,
      clientsEnded: ended.filter(Boolean).length,
      openAfterStop: server.stats().open,
      lingeringAnswer: answerOf(lingering),
    };
  } finally {
    for (const client of clients) client.socket.destroy();
    await server.close();
  }
}

/** The PEM texts of a CA and of a certificate for 127.0.0.1 it signed. */
export interface Pki {
  ca: string;
  cert: string;
  key: string;
}

export interface HeldAtCertificateReload {
  /** A request sent as the reload was put in force (trusting either certificate). */
  duringReload: string;
  /** The reload was in force while a request was still held. */
  reloadDone: boolean;
  /** A request after the reload, trusting only the new certificate. */
  afterReload: string;
  /** A request sent after the reload on a connection opened (TLS handshake done) before it. */
  openedBefore: string;
  /** The request held across the reload. */
  heldAnswer: string;
}

/**
 * A certificate renewed in place (certbot), then `systemctl reload`, while a sign-in's
 * callback is being handled: the port keeps accepting, the new certificate is served, and the
 * held request gets its answer.
 */
export async function heldRequestAtCertificateReload(
  dir: string,
  old: Pki,
  renewed: Pki,
): Promise<HeldAtCertificateReload> {
  const certFile = join(dir, "tls.pem");
  const keyFile = join(dir, "tls.key");
  const install = (pki: Pki) => {
    writeFileSync(certFile, pki.cert);
    writeFileSync(keyFile, pki.key);
  };
  install(old);
  // Only what the listeners read of a config.
  const config = {
    http: { listen: { host: "127.0.0.1", port: 0 }, tlsCertFile: certFile, tlsKeyFile: keyFile },
    metrics: { listen: undefined },
  } as unknown as ResolvedConfig;
  const held = heldHandler();
  const listeners = await startListeners(config, {
    buildApp: () => Promise.resolve({ fetch: held.fetch }),
    renderMetrics: () => Promise.resolve(""),
    limits: LIMITS,
    log: { info: () => {} } as unknown as Logger,
  });
  const browser = browse(listeners.port, { ca: [old.ca] });
  const early = browse(listeners.port, { ca: [old.ca] });
  try {
    await browser.ready;
    browser.socket.write("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    await heldStarted(held, browser);
    await early.ready;
    install(renewed);
    const apply = await listeners.prepare(config);
    const applying = apply();
    const duringReload = await request(listeners.port, "/during", [old.ca, renewed.ca]);
    const reloadDone = await settlesWithin(BOUND_MS, applying);
    const afterReload = await request(listeners.port, "/after", [renewed.ca]);
    early.socket.write("GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await settlesWithin(BOUND_MS, early.closed);
    held.release();
    await settlesWithin(BOUND_MS, browser.closed.then(() => applying));
    return {
      duringReload,
      reloadDone,
      afterReload,
      openedBefore: answerOf(early),
      heldAnswer: answerOf(browser),
    };
  } finally {
    held.release();
    browser.socket.destroy();
    early.socket.destroy();
    await listeners.close();
  }
}

/** The Bun child's entry: runs the scenario named by the first argument, prints its result. */
export async function runScenario(args: readonly string[]): Promise<unknown> {
  switch (args[0]) {
    case "held-at-stop":
      return await heldRequestAtStop();
    case "slow-clients-at-stop":
      return await slowClientsAtStop();
    case "held-at-certificate-reload": {
      const { dir, old, renewed } = JSON.parse(readFileSync(args[1]!, "utf8"));
      return await heldRequestAtCertificateReload(dir, old, renewed);
    }
    default:
      throw new Error(`Unknown scenario: ${args[0]}`);
  }
}
