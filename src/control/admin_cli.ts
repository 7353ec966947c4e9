/**
 * `openvpn-auth-oidc sessions list|revoke` and `logins list`: arguments, the request they make
 * on the control socket, and how answers are printed. The socket path is the config's
 * `[control] socket`, which the caller (cli.ts) reads, that key alone: the rest of the config is
 * the service's (a secret may be set only in its environment). The transport is injected so
 * tests can run this in process.
 */
import { parseArgs } from "node:util";
import type { RevocationTarget } from "../bridge/revocation.ts";
import { certificateNameText } from "../logged_certificate.ts";
import { printable, printableJson } from "../printable_text.ts";
import { table } from "./text_table.ts";
import { ServiceNotRunningError } from "./client.ts";
import type { ControlRequest, ControlResponse, LoginRow, SessionRow } from "./protocol.ts";

const NAME = "openvpn-auth-oidc";
const EXIT_OK = 0;
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

/**
 * -c/--config FILE, which names the config whose [control] socket the commands use. One
 * definition for both places it may stand: before the command (cli.ts finds the command past
 * it) and after it (parsed here).
 */
export const CONFIG_OPTION = { type: "string", short: "c" } as const;

export const ADMIN_HELP: Record<string, string> = {
  sessions: `Usage:
  ${NAME} sessions list [--config FILE] [--wide | --json]
  ${NAME} sessions revoke (--user NAME | --subject SUB | SESSION_ID) [--config FILE]

list: one row per session, oldest first: user name, OpenVPN server, cid or "-", common name
("(no certificate)" for a client without one), client IP, created (UTC, to the minute), session
id. --wide adds the IdP subject, last authenticated and expires, all times in full ISO 8601
(UTC); --json prints a JSON array of objects with every field (sessionId, username, subject,
server, cid, commonName ("" for no certificate), clientIp, createdAt, lastAuthAt, expiresAt). A table shows control and invisible characters as \\xNN or
\\uXXXX, and \\ as \\\\: to revoke a user whose name shows escaped, use --subject (--wide
shows it) or the SESSION ID.
revoke: ends the sessions (the client is disconnected, the session deleted, the refresh token
queued for revocation at the IdP) and prints how many (none: a note on stderr, exit code 0); a
client that could not be disconnected (management link down) is named, and the exit code is 1.
Talks to the running service over [control] socket, the only key read from the config.`,
  logins: `Usage: ${NAME} logins list [--config FILE] [--json]

Sign-ins in progress, oldest first: OpenVPN server, cid, common name ("(no certificate)" for a
client without one, "" in --json), client IP, age. --json
prints a JSON array of objects with server, cid, commonName, clientIp, ageSec (seconds since
the client connected) and createdAt (ISO 8601, UTC); never the login link.`,
};

export interface AdminDeps {
  out(text: string): void;
  err(text: string): void;
  /** The control socket of the config at `configPath` (default when undefined); exits on error. */
  socketPath(configPath: string | undefined): { path: string } | { exit: number };
  send(path: string, request: ControlRequest): Promise<ControlResponse>;
}

interface AdminCommand {
  request: ControlRequest;
  json: boolean;
  /** `sessions list --wide`: every field in the table. */
  wide: boolean;
  configPath: string | undefined;
}

class UsageError extends Error {}

function parse(argv: readonly string[]): AdminCommand | "help" {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: CONFIG_OPTION,
      json: { type: "boolean" },
      wide: { type: "boolean" },
      user: { type: "string" },
      subject: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const [group, action, ...rest] = positionals;
  const base = {
    json: values.json ?? false,
    wide: values.wide ?? false,
    configPath: values.config,
  };
  const noTargets = () => {
    if (values.user !== undefined || values.subject !== undefined) {
      throw new UsageError("--user and --subject belong to 'sessions revoke'");
    }
  };
  if (values.wide && (group !== "sessions" || action !== "list")) {
    throw new UsageError("--wide belongs to 'sessions list'");
  }
  if (values.wide && values.json) throw new UsageError("--json prints every field: drop --wide");
  if (action === "list" && rest.length > 0) {
    throw new UsageError(`Unexpected argument: "${rest[0]}"`);
  }
  if (action === "list") {
    noTargets();
    return { ...base, request: { command: group === "logins" ? "logins.list" : "sessions.list" } };
  }
  if (group === "sessions" && action === "revoke") {
    if (values.json) throw new UsageError("--json belongs to the list commands");
    return { ...base, request: { command: "sessions.revoke", target: target(values, rest) } };
  }
  throw new UsageError(
    action === undefined ? `'${group}' needs a command` : `Unknown command: '${group} ${action}'`,
  );
}

function target(values: { user?: string; subject?: string }, rest: string[]): RevocationTarget {
  const given = [values.user, values.subject, rest[0]].filter((value) => value !== undefined);
  if (given.length !== 1 || rest.length > 1) {
    throw new UsageError("Give exactly one of --user NAME, --subject SUB or a SESSION_ID");
  }
  if (given[0] === "") throw new UsageError("The user, subject or session id must not be empty");
  if (values.user !== undefined) return { kind: "user", username: values.user };
  if (values.subject !== undefined) return { kind: "subject", subject: values.subject };
  return { kind: "session", sessionId: rest[0]! };
}

/**
 * Runs `sessions ...` or `logins ...`: `group` is argv's first positional argument (--config
 * may come before it, as before any command); returns the exit code.
 */
export async function runAdminCommand(
  group: string,
  argv: readonly string[],
  deps: AdminDeps,
): Promise<number> {
  let command;
  try {
    command = parse(argv);
  } catch (error) {
    deps.err(`${(error as Error).message}\n${ADMIN_HELP[group] ?? ""}\n`);
    return EXIT_USAGE;
  }
  if (command === "help") {
    deps.out(`${ADMIN_HELP[group]}\n`);
    return EXIT_OK;
  }
  const socket = deps.socketPath(command.configPath);
  if ("exit" in socket) return socket.exit;
  if (socket.path === "") {
    deps.err(`${NAME}: the control socket is turned off ([control] socket = "")\n`);
    return EXIT_RUNTIME;
  }
  let response: ControlResponse;
  try {
    response = await deps.send(socket.path, command.request);
  } catch (error) {
    const prefix = error instanceof ServiceNotRunningError ? "" : "cannot talk to the service: ";
    deps.err(`${NAME}: ${prefix}${(error as Error).message}\n`);
    return EXIT_RUNTIME;
  }
  if (!response.ok) {
    deps.err(`${NAME}: the service refused the request: ${response.error}\n`);
    return EXIT_RUNTIME;
  }
  deps.out(render(response, command));
  if (
    "ended" in response && response.ended === 0 && command.request.command === "sessions.revoke"
  ) {
    // Exit 0 all the same: what was asked (no such session left) holds, and a script may
    // revoke twice; the note tells a mistyped name from a revoke that worked.
    deps.err(`${NAME}: no session matched ${targetText(command.request.target)}\n`);
  }
  if ("stillConnected" in response && response.stillConnected.length > 0) {
    const clients = response.stillConnected
      .map(({ server, cid, username }) => `${username} (server ${server}, cid ${cid})`)
      .join(", ");
    deps.err(
      `${NAME}: could not disconnect ${clients} now: the management link is down or not ` +
        "answering. Without [cluster] the service kills them when the link is back, if OpenVPN " +
        "did not restart meanwhile; otherwise they stay connected until they renegotiate " +
        "(client-kill them on the OpenVPN server)\n",
    );
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

/** What a revoke asked for, as the operator wrote it (escaped: it is printed). */
function targetText(target: RevocationTarget): string {
  const [what, value] = target.kind === "user"
    ? ["--user", target.username]
    : target.kind === "subject"
    ? ["--subject", target.subject]
    : ["session id", target.sessionId];
  return `${what} "${printable(value)}"`;
}

function render(
  response: ControlResponse & { ok: true },
  { json, wide }: AdminCommand,
): string {
  if ("ended" in response) return `${response.ended} session(s) ended\n`;
  // The service lists in its store's order (it does not sort, to stay responsive); oldest first.
  if ("sessions" in response) {
    const rows = oldestFirst(response.sessions);
    return json ? printableJson(rows) + "\n" : sessionTable(rows, wide);
  }
  const rows = oldestFirst(response.logins);
  return json ? printableJson(rows) + "\n" : loginTable(rows);
}

/** By `createdAt` (ISO 8601 in UTC, so text order is time order), ties in the order given. */
function oldestFirst<T extends { createdAt: string }>(rows: readonly T[]): T[] {
  return rows.toSorted((a, b) =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0
  );
}

/**
 * The session table's columns, in order; `wide` ones only with --wide. The default ones fit a
 * typical session in about 110 columns (a 43-character session id among them, to revoke it
 * by); --wide adds the 36-character subjects and two more full times, up to some 250.
 */
const SESSION_COLUMNS: ReadonlyArray<{
  title: string;
  cell: (row: SessionRow, wide: boolean) => string;
  wide?: true;
}> = [
  { title: "USER", cell: (row) => row.username },
  { title: "SUBJECT", cell: (row) => row.subject, wide: true },
  { title: "SERVER", cell: (row) => row.server },
  { title: "CID", cell: (row) => (row.cid === null ? "-" : String(row.cid)) },
  { title: "COMMON NAME", cell: (row) => certificateNameText(row.commonName) },
  { title: "CLIENT IP", cell: (row) => row.clientIp ?? "-" },
  { title: "CREATED", cell: (row, wide) => (wide ? row.createdAt : toTheMinute(row.createdAt)) },
  { title: "LAST AUTH", cell: (row) => row.lastAuthAt, wide: true },
  { title: "EXPIRES", cell: (row) => row.expiresAt, wide: true },
  { title: "SESSION ID", cell: (row) => row.sessionId },
];

function sessionTable(rows: readonly SessionRow[], wide: boolean): string {
  const columns = SESSION_COLUMNS.filter((column) => wide || !column.wide);
  return table(
    columns.map((column) => column.title),
    rows.map((row) => columns.map((column) => column.cell(row, wide))),
  );
}

/** `2026-12-05T13:35:17.622Z` as `2026-12-05 13:35Z`; anything else as it came. */
function toTheMinute(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):\d{2}(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]}Z` : iso;
}

function loginTable(rows: readonly LoginRow[]): string {
  return table(
    ["SERVER", "CID", "COMMON NAME", "CLIENT IP", "AGE"],
    rows.map((
      row,
    ) => [
      row.server,
      String(row.cid),
      certificateNameText(row.commonName),
      row.clientIp,
      `${row.ageSec}s`,
    ]),
  );
}
