/**
 * The control socket: a unix socket only root and the service's group can use (mode 0660), in
 * a directory nobody else can write to. One request line per connection, bounded in size and
 * time; the answer is one line, then the connection closes. A long list's line is written a
 * piece per event-loop turn, each after the socket took the last (protocol.ts, answerPieces).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import type { Logger } from "@logtape/logtape";
import { type ControlDeps, handleControlRequest } from "./handler.ts";
import { nextTurn } from "../next_turn.ts";
import {
  answerPieces,
  type ControlAnswer,
  ControlRequestError,
  MAX_REQUEST_BYTES,
  parseRequest,
} from "./protocol.ts";

const SOCKET_MODE = 0o660;
/** A client that has not sent its request line by then is dropped. */
const REQUEST_TIMEOUT_MS = 5_000;
/** A client that takes none of its answer for this long is dropped. */
const ANSWER_STALL_MS = 30_000;

type ServeDeps = ControlDeps & {
  log: Logger;
  /** Default REQUEST_TIMEOUT_MS; tests shorten it. */
  requestTimeoutMs?: number;
};

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Why the socket's directory is unsafe, if it is: anyone who can write to it could replace the
 * socket with their own and answer the admin's commands (a revoke reported done when nothing
 * ended). Its owner can always write to it, so it must be root or this service's user.
 */
export function unsafeDirectoryProblem(
  directory: { mode: number; uid: number },
  serviceUid: number | undefined,
): string | undefined {
  if ((directory.mode & 0o002) !== 0) return "it is writable by every user";
  if ((directory.mode & 0o020) !== 0) return "it is writable by its group";
  if (serviceUid !== undefined && directory.uid !== 0 && directory.uid !== serviceUid) {
    return `it belongs to uid ${directory.uid}, neither root nor this service's user (${serviceUid})`;
  }
  return undefined;
}

/**
 * Refuses a directory others could write to, creates a missing one (0750), and clears a stale
 * socket.
 */
async function prepare(path: string): Promise<void> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const problem = unsafeDirectoryProblem(statSync(dir), process.geteuid?.());
  if (problem) throw new Error(`Control socket directory ${dir} is unsafe: ${problem}`);
  let existing;
  try {
    existing = lstatSync(path);
  } catch {
    return;
  }
  if (!existing.isSocket()) {
    throw new Error(`Control socket path ${path} exists and is not a socket; remove it`);
  }
  if (await answers(path)) {
    throw new Error(`Control socket ${path} is in use: is another instance running?`);
  }
  unlinkSync(path);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** Binds with a umask that leaves others no access, so the socket is never open, even briefly. */
function listen(server: Server, path: string): Promise<void> {
  let previous: number | undefined;
  try {
    previous = process.umask(0o117);
  } catch {
    // A runtime without umask: chmod below still narrows the mode right after binding.
  }
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  }).finally(() => {
    if (previous !== undefined) process.umask(previous);
  });
}

export async function startControlServer(
  path: string,
  deps: ServeDeps,
): Promise<ControlServer> {
  await prepare(path);
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
    serve(socket, deps);
  });
  await listen(server, path);
  chmodSync(path, SOCKET_MODE);
  deps.log.info("Control socket listening on {path}", { path });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(socket: Socket, deps: ServeDeps): void {
  let buffered = "";
  let done = false;
  const answer = (response: ControlAnswer) => {
    done = true;
    clearTimeout(timer);
    writeAnswer(socket, response).catch((error) =>
      deps.log.warning("Control answer not written: {error}", { error: String(error) })
    );
  };
  const timer = setTimeout(
    () => answer({ ok: false, error: "No request received in time" }),
    deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
  );
  socket.setEncoding("utf8");
  socket.on("error", () => clearTimeout(timer));
  socket.on("close", () => clearTimeout(timer));
  socket.on("data", (chunk: string) => {
    if (done) return;
    buffered += chunk;
    const end = buffered.indexOf("\n");
    if (end < 0) {
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        answer({ ok: false, error: `Request longer than ${MAX_REQUEST_BYTES} bytes` });
      }
      return;
    }
    const line = buffered.slice(0, end);
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
      answer({ ok: false, error: `Request longer than ${MAX_REQUEST_BYTES} bytes` });
      return;
    }
    done = true;
    clearTimeout(timer);
    respond(line, deps).then(answer);
  });
}

/**
 * Writes the answer's pieces, each in an event-loop turn of its own and only once the socket
 * took the one before (a slow reader does not make the socket buffer all of a long answer),
 * then ends the connection. Stops when the admin command went away.
 */
export async function writeAnswer(
  socket: AnswerSocket,
  response: ControlAnswer,
  stallMs = ANSWER_STALL_MS,
): Promise<void> {
  let first = true;
  try {
    for await (const piece of answerPieces(response)) {
      if (!first) await nextTurn();
      first = false;
      if (socket.destroyed) return;
      if (!socket.write(piece) && !(await drained(socket, stallMs))) {
        socket.destroy();
        return;
      }
    }
  } catch (error) {
    // A listing that failed halfway (the store went away): the admin command sees the answer
    // cut short instead of waiting for the rest.
    socket.destroy();
    throw error;
  }
  if (!socket.destroyed) socket.end();
}

/** What writeAnswer uses of the connection's socket. */
export type AnswerSocket = Pick<Socket, "destroyed" | "write" | "end" | "destroy" | "on" | "off">;

/**
 * Whether `socket` can take more: true at its `drain`, false when it is gone or took nothing for
 * `stallMs` (an admin command that stopped reading does not hold the answer for ever).
 */
function drained(socket: AnswerSocket, stallMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (drainedNow: boolean) => {
      clearTimeout(timer);
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(drainedNow);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(onClose, stallMs);
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

async function respond(
  line: string,
  deps: ControlDeps & { log: Logger },
): Promise<ControlAnswer> {
  try {
    const request = parseRequest(line);
    if (request.command === "sessions.revoke") {
      deps.log.info("Control: revoke requested ({kind})", { kind: request.target.kind });
    }
    return await handleControlRequest(request, deps);
  } catch (error) {
    if (error instanceof ControlRequestError) return { ok: false, error: error.message };
    deps.log.error("Control request failed: {error}", { error: String(error) });
    return { ok: false, error: "Internal error; see the service log" };
  }
}
