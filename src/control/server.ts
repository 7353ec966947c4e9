/**
 * The control socket: a unix socket only root and the service's group can use (mode 0660), in
 * a directory nobody else can write to. One request line per connection, bounded in size and
 * time; the answer is one line, then the connection closes. A long list's line is written a
 * piece per event-loop turn, each after the socket took the last (protocol.ts, answerPieces).
 * Until the answer begins, a space every KEEPALIVE_MS tells the admin command the request is
 * still being carried out. Closing stops accepting and lets answers under way finish (for at most
 * CLOSE_GRACE_MS) before the service closes what they use.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import type { Logger } from "@logtape/logtape";
import { type ControlDeps, handleControlRequest } from "./handler.ts";
import type { RevocationTarget } from "../bridge/revocation.ts";
import { nextTurn } from "../next_turn.ts";
import {
  answerPieces,
  type ControlAnswer,
  ControlRequestError,
  KEEPALIVE_MS,
  MAX_REQUEST_BYTES,
  parseRequest,
} from "./protocol.ts";
import { errorText } from "../error_text.ts";

const SOCKET_MODE = 0o660;
/** Lets the service's group reach the socket; nobody but its owner may change what is in it. */
const DIRECTORY_MODE = 0o750;
/** A client that has not sent its request line by then is dropped. */
const REQUEST_TIMEOUT_MS = 5_000;
/** A client that takes none of its answer for this long is dropped. */
const ANSWER_STALL_MS = 30_000;
/**
 * How long close() waits for the requests under way (a revoke, an answer being written) before
 * it cuts their connections: the service's stop then closes the management links and the store
 * they use. A revoke still waiting on a hung OpenVPN by then has ended the sessions it reached;
 * the admin command reports the connection cut.
 */
export const CLOSE_GRACE_MS = 5_000;

type ServeDeps = ControlDeps & {
  log: Logger;
  /** Default REQUEST_TIMEOUT_MS; tests shorten it. */
  requestTimeoutMs?: number;
  /** Default KEEPALIVE_MS; tests shorten it. */
  keepaliveMs?: number;
  /** Default CLOSE_GRACE_MS; tests shorten it. */
  closeGraceMs?: number;
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
 * Creates the missing directories down to `dir`, each DIRECTORY_MODE whatever the umask: mkdir's
 * mode is reduced by it, and the systemd unit's UMask=0077 would leave them 0700, shutting out the
 * service's group. A directory that already existed keeps its mode.
 */
function createMissingDirectories(dir: string): void {
  // Resolved, so the first directory mkdir reports created is a plain ancestor of `target`.
  const target = resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: DIRECTORY_MODE });
  if (first === undefined) return;
  const top = resolve(first);
  const created = [target];
  for (let current = target; current !== top;) {
    const parent = dirname(current);
    if (parent === current) {
      throw new Error(`Control socket directory ${dir}: created ${first}, which is not above it`);
    }
    created.push(parent);
    current = parent;
  }
  for (const directory of created) chmodSync(directory, DIRECTORY_MODE);
}

/**
 * Refuses a directory others could write to, creates a missing one (0750), and clears a stale
 * socket.
 */
async function prepare(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    createMissingDirectories(dir);
  } catch (error) {
    throw placeError(`Control socket directory ${dir} cannot be created`, path, error);
  }
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

/**
 * The runtime's "EACCES: permission denied, mkdir '/run/x'" named no config key, and came only
 * after the service had connected to OpenVPN (the socket starts last): a restart loop with
 * nothing to say which setting to change.
 */
function placeError(what: string, path: string, error: unknown): Error {
  return new Error(
    `${what} (control.socket = "${path}"): ` +
      `${errorText(error)}: make its directory one the ` +
      `service user can write (systemd: RuntimeDirectory=), or set control.socket to a path in ` +
      `one ("" turns the socket off)`,
    { cause: error },
  );
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
  const connections = new Map<Socket, Connection>();
  /** Requests under way, each settled once its answer is written (or given up). */
  const inFlight = new Set<Promise<void>>();
  // Half-open: a client may end its side after the request (socat, `nc -N`, a script calling
  // shutdown): closing ours with it dropped an answer not ready in that turn (a revoke's, whose
  // sessions were ended all the same).
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const connection = serve(socket, deps, (work) => {
      inFlight.add(work);
      work.finally(() => inFlight.delete(work));
    });
    connections.set(socket, connection);
    socket.once("close", () => connections.delete(socket));
  });
  try {
    await listen(server, path);
  } catch (error) {
    throw placeError(`Control socket ${path} cannot be created`, path, error);
  }
  chmodSync(path, SOCKET_MODE);
  deps.log.info("Control socket listening on {path}", { path });
  let closing: Promise<void> | undefined;
  return {
    path,
    close: () =>
      closing ??= (async () => {
        // No new connections; `closed` settles once the last one is gone.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // One that has not sent its request yet is told so, not left to wait.
        for (const connection of connections.values()) connection.refuseIfWaiting();
        if (inFlight.size > 0) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const grace = deps.closeGraceMs ?? CLOSE_GRACE_MS;
          const cutOff = await Promise.race([
            Promise.allSettled([...inFlight]).then(() => false),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), grace))),
          ]);
          clearTimeout(timer);
          if (cutOff) {
            deps.log.warning(
              "Control: {count} request(s) still under way after {seconds} s; cutting them off",
              { count: inFlight.size, seconds: grace / 1000 },
            );
          }
        }
        // What is left: answers cut off after the grace, and refusals not yet taken.
        for (const socket of connections.keys()) socket.destroy();
        await closed;
      })(),
  };
}

/** A connection as close() sees it. */
interface Connection {
  /** Answers "The service is stopping" if the request has not come yet. */
  refuseIfWaiting(): void;
}

function serve(
  socket: Socket,
  deps: ServeDeps,
  track: (work: Promise<void>) => void,
): Connection {
  let buffered = "";
  let done = false;
  const answer = (response: ControlAnswer): Promise<void> => {
    done = true;
    clearTimeout(timer);
    const written = writeAnswer(socket, response).catch((error) =>
      deps.log.warning("Control answer not written: {error}", { error: String(error) })
    );
    track(written);
    return written;
  };
  const timer = setTimeout(
    () => answer({ ok: false, error: "No request received in time" }),
    deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
  );
  socket.setEncoding("utf8");
  socket.on("error", () => clearTimeout(timer));
  socket.on("close", () => clearTimeout(timer));
  const take = (line: string) => {
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
      answer({ ok: false, error: `Request longer than ${MAX_REQUEST_BYTES} bytes` });
      return;
    }
    done = true;
    clearTimeout(timer);
    track(keptAlive(socket, respond(line, deps), deps.keepaliveMs ?? KEEPALIVE_MS).then(answer));
  };
  socket.on("data", (chunk: string) => {
    if (done) return;
    buffered += chunk;
    const end = buffered.indexOf("\n");
    if (end >= 0) take(buffered.slice(0, end));
    else if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
      answer({ ok: false, error: `Request longer than ${MAX_REQUEST_BYTES} bytes` });
    }
  });
  // The client's side ended: what it sent is its request, newline or not (`printf '...' |
  // socat`); nothing at all is told so now, not after the request timeout.
  socket.on("end", () => {
    if (done) return;
    if (buffered.trim() === "") answer({ ok: false, error: "No request received" });
    else take(buffered);
  });
  return {
    refuseIfWaiting: () => {
      if (!done) answer({ ok: false, error: "The service is stopping" });
    },
  };
}

/**
 * `work`, with a space written to `socket` every `intervalMs` until it settles: the admin command
 * sees the service is still at it (a revoke waiting on a hung OpenVPN) instead of timing out.
 * JSON.parse ignores whitespace before the answer, and none is written once the answer began.
 */
async function keptAlive<T>(socket: Socket, work: Promise<T>, intervalMs: number): Promise<T> {
  const keepalive = setInterval(() => {
    if (!socket.destroyed) socket.write(" ");
  }, intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(keepalive);
  }
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

/**
 * Whom an administrator's revoke names, as a quoted value: a user name, a subject, or a session
 * id (OpenVPN's, as `sessions list` shows it: it names a session, it lets nobody in; log_mask.ts).
 * JSON keeps `kind` as the target's kind.
 */
function logRevokeRequested(log: Logger, target: RevocationTarget): void {
  const { kind } = target;
  if (kind === "user") {
    log.info("Control: revoke of user {username} requested", { kind, username: target.username });
  } else if (kind === "subject") {
    log.info("Control: revoke of subject {subject} requested", { kind, subject: target.subject });
  } else {
    log.info("Control: revoke of session {sessionId} requested", {
      kind,
      sessionId: target.sessionId,
    });
  }
}

async function respond(
  line: string,
  deps: ControlDeps & { log: Logger },
): Promise<ControlAnswer> {
  try {
    const request = parseRequest(line);
    if (request.command === "sessions.revoke") logRevokeRequested(deps.log, request.target);
    return await handleControlRequest(request, deps);
  } catch (error) {
    if (error instanceof ControlRequestError) return { ok: false, error: error.message };
    deps.log.error("Control request failed: {error}", { error: String(error) });
    return { ok: false, error: "Internal error; see the service log" };
  }
}
