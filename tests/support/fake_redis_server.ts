/**
 * Servers on 127.0.0.1 that stand where a Redis would, for tests whose peer's timing must be
 * exact: `startLocalServer` hands each accepted connection to the test as it is (to close it at
 * once, or to proxy it), and `startFakeRedis` speaks RESP over it, answering ioredis's handshake
 * itself and giving every other command to the test, which may answer it or stay silent. Both
 * close every socket they accepted or were given, and their listener, on `close()`, so Deno's
 * sanitizers find nothing left open.
 */
import { handshakeReply, parseCommand } from "./fake_redis_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface LocalServer {
  /** `redis://127.0.0.1:<port>/0`, the free port the listener was given. */
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /**
   * Closes `conn` with the server (an upstream a connection's handler opened), or at once when
   * the server is closed already; returns it.
   */
  track(conn: Deno.Conn): Deno.Conn;
  /** Stops accepting, closes every connection tracked and waits for their handlers. */
  close(): Promise<void>;
}

/**
 * Listens on a free 127.0.0.1 port and runs `handle` on each connection accepted, its ordinal
 * (1, 2, ...) beside it. A connection is closed with the server unless its handler closed it.
 */
export function startLocalServer(
  handle: (conn: Deno.Conn, ordinal: number) => Promise<void> | void,
): LocalServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const served: Promise<void>[] = [];
  let closed = false;
  const server: LocalServer = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    connections: 0,
    track(conn) {
      if (closed) closeQuietly(conn);
      else open.add(conn);
      return conn;
    },
    async close() {
      closed = true;
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await Promise.allSettled(served);
    },
  };
  served.push(
    (async () => {
      for await (const conn of listener) {
        server.track(conn);
        const ordinal = ++server.connections;
        // A handler that fails (a proxy's upstream refused) drops its connection, as a real
        // server's failure would: the client sees a reset, not a silence.
        served.push((async () => await handle(conn, ordinal))().catch(() => closeQuietly(conn)));
      }
    })().catch(() => {}), // the listener closed by close()
  );
  return server;
}

/** Closes `conn` unless it was closed already (by its peer's handler, or a pipe). */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** One connection of a fake Redis, as a command's handler sees it. */
export interface FakeRedisPeer {
  /** 1 for the first connection accepted, 2 for the next, ... */
  ordinal: number;
  /** Writes `text` (raw RESP); a connection closed meanwhile is not the test's failure. */
  reply(text: string): Promise<void>;
  /** Drops the connection, the commands after this one unanswered. */
  close(): void;
}

/**
 * What the test does with one command after the handshake (`args` as sent, the name in its
 * case): answer with `peer.reply`, or not. Handlers run one at a time and in order on each
 * connection, as Redis serves commands, so a delay in one delays the replies behind it.
 */
export type CommandHandler = (args: string[], peer: FakeRedisPeer) => Promise<void> | void;

/** A server speaking just enough RESP for ioredis; see `CommandHandler`. */
export function startFakeRedis(onCommand: CommandHandler): LocalServer {
  return startLocalServer((conn, ordinal) => serveRedis(conn, ordinal, onCommand));
}

async function serveRedis(conn: Deno.Conn, ordinal: number, onCommand: CommandHandler) {
  const peer: FakeRedisPeer = {
    ordinal,
    reply: (text) => conn.write(encoder.encode(text)).then(() => {}, () => {}),
    close: () => closeQuietly(conn),
  };
  let replies = Promise.resolve();
  let pending = "";
  const buffer = new Uint8Array(65_536);
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      pending += decoder.decode(buffer.subarray(0, count), { stream: true });
      let parsed;
      while ((parsed = parseCommand(pending)) !== undefined) {
        pending = pending.slice(parsed.length);
        const { args } = parsed;
        const handshake = handshakeReply(args);
        const answer = handshake !== undefined
          ? () => peer.reply(handshake)
          : () => onCommand(args, peer);
        // A handler that throws drops the connection: nothing after it is answered.
        replies = replies.then(answer).catch(peer.close);
      }
    }
  } catch {
    // Closed by the test, by the client or by a handler.
  }
  await replies;
}
