/**
 * The control socket's protocol: one JSON object per line, one request and one answer per
 * connection. Pure: parsing and checking requests, shaping answers. A request that is not
 * exactly one of the shapes below is refused with an error and changes nothing. A list's
 * answer is written in pieces (answerPieces), but its line is the same JSON. While the service
 * carries the request out it writes a space every KEEPALIVE_MS (JSON ignores whitespace before
 * the answer; nothing is written once the answer began), so that a slow revoke is not mistaken
 * for a service that no longer answers.
 */

import type { RevocationTarget } from "../bridge/revocation.ts";

/**
 * Rows of a list answer made and written per event-loop turn. Listing 100,000 sessions made one
 * JSON text of 30 MB in one go: 68-149 ms in which the bridge answered no REAUTH (bench/README.md).
 */
export const ROWS_PER_PIECE = 500;

/**
 * While a request is carried out (a revoke whose kills each wait up to openvpn.command_timeout
 * on a hung OpenVPN), the service writes a single space this often, before the answer.
 */
export const KEEPALIVE_MS = 10_000;
/**
 * The admin command gives up when nothing at all came for this long: three keepalives missed, or
 * a list's answer that paused (the service reads the next page once the last was taken).
 */
export const ANSWER_TIMEOUT_MS = 3 * KEEPALIVE_MS;

/** A request line longer than this is refused unread (the largest valid one is far smaller). */
export const MAX_REQUEST_BYTES = 4096;
/** User names, subjects and session ids longer than this are not ours to look up. */
const MAX_KEY_LENGTH = 1024;

export type ControlRequest =
  | { command: "sessions.list" }
  | { command: "sessions.revoke"; target: RevocationTarget }
  | { command: "logins.list" };

/** One session as `sessions list --json` prints it. Times are ISO 8601 (UTC). */
export interface SessionRow {
  sessionId: string;
  username: string;
  subject: string;
  server: string;
  /** The connected client's id, or null while the client is away. */
  cid: number | null;
  commonName: string;
  clientIp: string | null;
  createdAt: string;
  lastAuthAt: string;
  expiresAt: string;
}

/** One sign-in in progress. The login id is a capability and is never shown. */
export interface LoginRow {
  server: string;
  cid: number;
  commonName: string;
  clientIp: string;
  /** Seconds since the client connected. */
  ageSec: number;
  createdAt: string;
}

/** Lists come in the store's order; the admin command sorts them (oldest first). */
export type ControlResponse =
  | { ok: true; sessions: SessionRow[] }
  /**
   * `stillConnected`: clients whose kill could not be carried out (the management link down or
   * not answering): their sessions ended, but they stay on the VPN until they renegotiate.
   */
  | {
    ok: true;
    ended: number;
    stillConnected: Array<{ server: string; cid: number; username: string }>;
  }
  | { ok: true; logins: LoginRow[] }
  | { ok: false; error: string };

export class ControlRequestError extends Error {
  override readonly name = "ControlRequestError";
}

function fail(message: string): never {
  throw new ControlRequestError(message);
}

function key(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") fail(`"${name}" must be a non-empty string`);
  if (value.length > MAX_KEY_LENGTH) fail(`"${name}" is longer than ${MAX_KEY_LENGTH} characters`);
  return value;
}

function onlyKeys(fields: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(fields).find((name) => !allowed.includes(name));
  if (extra !== undefined) fail(`Unknown field "${extra}"`);
}

/** Parses one request line; throws ControlRequestError saying what is wrong. */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    fail("Request is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("Request must be a JSON object");
  }
  const fields = value as Record<string, unknown>;
  switch (fields["command"]) {
    case "sessions.list":
    case "logins.list":
      onlyKeys(fields, ["command"]);
      return { command: fields["command"] };
    case "sessions.revoke": {
      onlyKeys(fields, ["command", "user", "subject", "sessionId"]);
      const given = ["user", "subject", "sessionId"].filter((name) => fields[name] !== undefined);
      if (given.length !== 1) fail(`Give exactly one of "user", "subject", "sessionId"`);
      const target: RevocationTarget = given[0] === "user"
        ? { kind: "user", username: key(fields["user"], "user") }
        : given[0] === "subject"
        ? { kind: "subject", subject: key(fields["subject"], "subject") }
        : { kind: "session", sessionId: key(fields["sessionId"], "sessionId") };
      return { command: "sessions.revoke", target };
    }
    default:
      return fail(`Unknown command: ${JSON.stringify(fields["command"] ?? null)}`);
  }
}

/** The request as it goes on the wire (one line). */
export function encodeRequest(request: ControlRequest): string {
  if (request.command !== "sessions.revoke") return JSON.stringify(request) + "\n";
  const { target } = request;
  const field = target.kind === "user"
    ? { user: target.username }
    : target.kind === "subject"
    ? { subject: target.subject }
    : { sessionId: target.sessionId };
  return JSON.stringify({ command: request.command, ...field }) + "\n";
}

/**
 * A list as the service answers it: the rows page by page, as the store reads them, so that a
 * listing of 1,000,000 sessions is never held whole. On the wire it is the ControlResponse
 * `{ ok: true, <list>: [rows] }`.
 */
export type StreamedList =
  | { ok: true; list: "sessions"; pages: AsyncIterable<readonly SessionRow[]> }
  | { ok: true; list: "logins"; pages: AsyncIterable<readonly LoginRow[]> };

/** What the service writes: a list as it comes, or any other answer. */
export type ControlAnswer =
  | StreamedList
  | Exclude<ControlResponse, { sessions: unknown } | { logins: unknown }>;

/**
 * The answer's line in pieces, each small enough to write in one event-loop turn: a list's
 * opening, its rows (a page at a time, at most ROWS_PER_PIECE a piece), its end. Joined, they
 * are exactly the JSON line of the ControlResponse with all the rows.
 */
export async function* answerPieces(answer: ControlAnswer): AsyncGenerator<string> {
  if (!("list" in answer)) {
    yield JSON.stringify(answer) + "\n";
    return;
  }
  yield `{"ok":true,${JSON.stringify(answer.list)}:[`;
  let first = true;
  for await (const page of answer.pages) {
    for (let from = 0; from < page.length; from += ROWS_PER_PIECE) {
      const piece = page.slice(from, from + ROWS_PER_PIECE).map((row) => JSON.stringify(row));
      yield (first ? "" : ",") + piece.join(",");
      first = false;
    }
  }
  yield "]}\n";
}
