/**
 * Connections to the listener as slow_clients_test.ts opens them, and its scenarios about
 * request bodies, which run on Deno in process and on Bun (the released binary's runtime) in a
 * child (_slow_clients_bun_child.ts): the runtimes' HTTP servers hand bodies over differently
 * (Bun gives a POST without a body none, Deno an empty one). Each scenario returns what it
 * observed; the test asserts.
 */
import { connect, type Socket } from "node:net";
import { serveHttp } from "../../../src/http/serve.ts";
import { MAX_REQUEST_BODY_BYTES } from "../../../src/http/routes.ts";
import { aliasedTransport } from "../../support/aliased_transport.ts";
import { freePort } from "../../support/free_port.ts";

/**
 * Every socket binds 127.0.0.1; a connection opened `as` another client is reported to the
 * guard with that (documentation) address.
 */
export const clients = aliasedTransport();
export const OTHER_CLIENT = "198.51.100.2";

export const LIMITS = {
  maxConnections: 20,
  maxConnectionsPerClient: 20,
  headerTimeoutMs: 1000,
  idleTimeoutMs: 1000,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Held {
  socket: Socket;
  closed: Promise<void>;
  received: () => string;
}

/** A connection from 127.0.0.1, seen by the guard as from `as` when given. */
export async function open(port: number, as?: string): Promise<Held> {
  const localPort = as === undefined ? undefined : await freePort();
  if (localPort !== undefined) clients.alias(localPort, as!);
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.1", localPort });
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString()));
    const closed = new Promise<void>((done) => socket.on("close", () => done()));
    socket.on("error", () => {});
    socket.once("connect", () => resolve({ socket, closed, received: () => text }));
    socket.once("error", reject);
  });
}

/** A normal request, from another client address than the slow clients'. */
export async function get(port: number, path = "/healthz", from = OTHER_CLIENT): Promise<string> {
  const held = await open(port, from);
  held.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await held.closed;
  return held.received().split("\r\n")[0] ?? "";
}

/** A handler that reads the whole body, as the routes that take one do, and answers its size. */
async function readingHandler(request: Request): Promise<Response> {
  const body = request.body === null ? "" : await request.text();
  return new Response(`${request.method} ${body.length} ${body.slice(0, 16)}`);
}

export interface SlowBodiesRotating {
  /** The status lines of the normal GETs made during the attack. */
  statuses: string[];
  /** Attack connections opened. */
  attackers: number;
}

/**
 * An attacker from 8 addresses (each within its per-client cap) opens a connection every 15 ms
 * that sends a POST's headers at once and drips its body a byte every 300 ms: fast enough to
 * replace every connection closed after the header timeout. Meanwhile another client makes 30
 * normal GETs, one after another.
 */
export async function slowBodiesRotating(): Promise<SlowBodiesRotating> {
  const server = await serveHttp(
    {
      host: "127.0.0.1",
      port: 0,
      tls: undefined,
      transport: clients.transport,
      ...LIMITS,
      maxConnectionsPerClient: 5,
    },
    readingHandler,
  );
  const held = new Set<Held>();
  let attacking = true;
  let attackers = 0;
  const attack = (async () => {
    while (attacking) {
      const from = `198.51.100.${100 + attackers++ % 8}`;
      open(server.port, from).then((connection) => {
        if (!attacking) return connection.socket.destroy();
        held.add(connection);
        connection.socket.write(
          "POST /login/x HTTP/1.1\r\nHost: x\r\n" +
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        );
        const drip = setInterval(() => connection.socket.write("a"), 300);
        connection.closed.then(() => {
          clearInterval(drip);
          held.delete(connection);
        });
      }, () => {});
      await sleep(15);
    }
  })();
  try {
    // Long enough for the attack to hold every slot, and for its first connections to be older
    // than the header timeout.
    await sleep(LIMITS.headerTimeoutMs * 1.5);
    const statuses: string[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push(await get(server.port));
      await sleep(30);
    }
    return { statuses, attackers };
  } finally {
    attacking = false;
    await attack;
    for (const connection of held) connection.socket.destroy();
    await server.close();
  }
}

export interface BodiesRelayed {
  /** Each request's status line and answer (`<method> <body length> <its start>`), by name. */
  answers: Record<string, string>;
  /** How many requests reached the handler. */
  handled: number;
}

/**
 * Bodies reach the handler whole, up to MAX_REQUEST_BODY_BYTES, sized or chunked; a larger one
 * is answered 413 without reaching it, whether its size is declared or only seen while reading.
 */
export async function bodiesRelayed(): Promise<BodiesRelayed> {
  let handled = 0;
  const server = await serveHttp(
    { host: "127.0.0.1", port: 0, tls: undefined, ...LIMITS },
    (request) => {
      handled++;
      return readingHandler(request);
    },
  );
  const head = (method: string, extra: string) =>
    `${method} /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;
  const chunked = (body: string) =>
    head("POST", "Transfer-Encoding: chunked\r\n") +
    `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const largest = "b".repeat(MAX_REQUEST_BODY_BYTES);
  const tooLarge = largest + "b";
  const requests: Record<string, string> = {
    get: head("GET", ""),
    emptyPost: head("POST", "Content-Length: 0\r\n"),
    sized: head("POST", `Content-Length: ${largest.length}\r\n`) + largest,
    chunked: chunked(largest),
    sizedTooLarge: head("POST", `Content-Length: ${tooLarge.length}\r\n`) + tooLarge,
    chunkedTooLarge: chunked(tooLarge),
  };
  const answers: Record<string, string> = {};
  try {
    for (const [name, request] of Object.entries(requests)) {
      const connection = await open(server.port);
      connection.socket.write(request);
      // A bound for the scenario; the answer itself is asserted.
      const bound = setTimeout(() => connection.socket.destroy(), 5_000);
      await connection.closed;
      clearTimeout(bound);
      const text = connection.received();
      answers[name] = `${text.split("\r\n")[0]} | ${text.split("\r\n\r\n")[1] ?? ""}`;
    }
    return { answers, handled };
  } finally {
    await server.close();
  }
}

/** A scenario by name, for the Bun child. */
export function runScenario(name: string | undefined): Promise<unknown> {
  if (name === "slow-bodies-rotating") return slowBodiesRotating();
  if (name === "bodies-relayed") return bodiesRelayed();
  throw new Error(`Unknown scenario: ${name}`);
}
