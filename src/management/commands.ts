/**
 * The one place that builds management command text. Every free-text argument is quoted and
 * escaped for OpenVPN's config-file lexer and checked against its limits, so nothing built
 * from user or IdP data can split into extra arguments or extra commands.
 *
 * Limits (OpenVPN 2.6 `manage.c`/`options.c`, measured against a real 2.6 server):
 * - a parameter holds at most 256 characters; we count the whole quoted token (quotes and
 *   escaping backslashes included), which is stricter than the lexer and never too long;
 * - commands are read in 256-byte chunks into a 1024-byte buffer that is cleared when it
 *   overflows, so a line (with its `\n`) must stay within 768 bytes to be safe even when
 *   several commands are written at once;
 * - bytes below 0x20 and 0x7f are silently dropped by OpenVPN, so we reject them instead;
 * - a 2.6 client shows `>INFOMSG:WEB_AUTH:<flags>:<url>` only up to 246 characters, flags
 *   included (push.c prints `>INFOMSG:` and the extra into 256 bytes with its NUL).
 */
import type { Secret } from "../config/secret.ts";
import type { ReplyKind } from "./events.ts";
import {
  MIN_MANAGEMENT_VERSION,
  PENDING_AUTH_KEY_ID_VERSION,
  PENDING_AUTH_TIMEOUT_VERSION,
  servesBrowserSignIn,
} from "./openvpn_version.ts";
import { webAuthFlagsProblems } from "./web_auth_flags.ts";

export type ManagementArgumentErrorCode =
  | "control-character"
  | "too-long"
  | "invalid-id"
  | "invalid-number"
  | "invalid-flag"
  | "reserved-line"
  | "reserved-prefix"
  | "unsupported-version";

/** A command argument that cannot be sent safely; nothing was written. */
export class ManagementArgumentError extends Error {
  override readonly name = "ManagementArgumentError";
  readonly code: ManagementArgumentErrorCode;

  constructor(code: ManagementArgumentErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

declare const commandBrand: unique symbol;

/**
 * A validated command, ready to write. Only this module creates them. `name` is the command
 * word, safe to log; `text` may carry user data and has no trailing line end.
 */
export interface ManagementCommand {
  readonly name: string;
  readonly text: string;
  readonly reply: ReplyKind;
  readonly [commandBrand]: true;
}

const MAX_PARAMETER_CHARS = 256;
const MAX_LINE_BYTES = 768;
export const MAX_WEB_AUTH_EXTRA_CHARS = 246;
/**
 * OpenVPN reads `client-auth` config lines with a 256-byte line buffer that also holds the line
 * end and the terminating NUL, so 254 bytes of text is the most that arrives whole.
 */
const MAX_CONFIG_LINE_BYTES = 254;

const encoder = new TextEncoder();
// C0 controls, DEL and C1 controls (which OpenVPN's UTF-8 handling does not expect either).
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// deno-lint-ignore no-control-regex
const ASCII = /^[\u0000-\u007f]*$/;

/** UTF-8 length (ASCII, nearly every command, is measured without being encoded). */
function byteLength(text: string): number {
  return ASCII.test(text) ? text.length : encoder.encode(text).length;
}

function assertNoControl(what: string, value: string): void {
  if (CONTROL.test(value)) {
    throw new ManagementArgumentError(
      "control-character",
      `Invalid ${what}: control characters (CR, LF, NUL, ...) are not allowed`,
    );
  }
}

/** Quotes one argument: `"..."` with `\` and `"` escaped; validated against the limits. */
export function quoteArgument(what: string, value: string): string {
  assertNoControl(what, value);
  const token = `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  const size = byteLength(token);
  if (size > MAX_PARAMETER_CHARS) {
    throw new ManagementArgumentError(
      "too-long",
      `Invalid ${what}: ${size} bytes quoted, OpenVPN allows ${MAX_PARAMETER_CHARS} per parameter`,
    );
  }
  return token;
}

function assertId(what: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ManagementArgumentError("invalid-id", `Invalid ${what}: ${String(value)}`);
  }
  return String(value);
}

function command(name: string, lines: string[], reply: ReplyKind): ManagementCommand {
  for (const line of lines) {
    const size = byteLength(line) + 1;
    if (size > MAX_LINE_BYTES) {
      throw new ManagementArgumentError(
        "too-long",
        `Invalid ${name} command: a line of ${size} bytes exceeds ${MAX_LINE_BYTES}`,
      );
    }
  }
  return { name, text: lines.join("\n"), reply } as ManagementCommand;
}

/** `WEB_AUTH:<flags>:`, what comes before the URL in the extra (flags separated by commas). */
function webAuthPrefix(flags: readonly string[]): string {
  return `WEB_AUTH:${flags.join(",")}:`;
}

/**
 * How many characters (UTF-8 bytes) of login URL fit in a `WEB_AUTH` extra with these flags:
 * {@link webAuthExtra} refuses a longer one (the config's base URL check says how long a base
 * URL may be with it).
 */
export function maxWebAuthUrlLength(flags: readonly string[]): number {
  return MAX_WEB_AUTH_EXTRA_CHARS - webAuthPrefix(flags).length;
}

/**
 * `WEB_AUTH:<flags>:<url>`, the `client-pending-auth` extra that makes a client open a login
 * URL; `WEB_AUTH::<url>` without flags. Throws when longer than 246 characters (a 2.6 client
 * silently drops such a message) or when a flag is not one the bridge sends (web_auth_flags.ts).
 */
export function webAuthExtra(url: string, flags: readonly string[] = []): string {
  const flagProblem = webAuthFlagsProblems(flags)[0];
  if (flagProblem !== undefined) {
    throw new ManagementArgumentError(
      "invalid-flag",
      `Invalid WEB_AUTH flags: ${flagProblem.message}`,
    );
  }
  assertNoControl("login URL", url);
  const extra = `${webAuthPrefix(flags)}${url}`;
  const size = byteLength(extra);
  if (size > MAX_WEB_AUTH_EXTRA_CHARS) {
    throw new ManagementArgumentError(
      "too-long",
      `Login URL too long: WEB_AUTH extra is ${size} characters, clients accept ${MAX_WEB_AUTH_EXTRA_CHARS}`,
    );
  }
  return extra;
}

/**
 * `client-pending-auth` in the form the server understands, chosen by its management version
 * (from `version`): 5 (OpenVPN 2.6.2+) `{cid} {kid} "{extra}" {timeout}`; 4 (2.6.0, 2.6.1)
 * `{cid} "{extra}" {timeout}`; 3 (2.5) `{cid} "{extra}"` without kid and timeout. Older
 * versions have no such command.
 */
export function clientPendingAuth(
  cid: number,
  kid: number,
  extra: string,
  timeoutSec: number,
  managementVersion: number,
): ManagementCommand {
  const c = assertId("client id", cid);
  const k = assertId("key id", kid);
  if (!Number.isSafeInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 0xffffffff) {
    throw new ManagementArgumentError(
      "invalid-number",
      `Invalid pending-auth timeout: ${timeoutSec}`,
    );
  }
  const e = quoteArgument("pending-auth extra", extra);
  if (managementVersion >= PENDING_AUTH_KEY_ID_VERSION) {
    return command(
      "client-pending-auth",
      [`client-pending-auth ${c} ${k} ${e} ${timeoutSec}`],
      "single",
    );
  }
  if (managementVersion >= PENDING_AUTH_TIMEOUT_VERSION) {
    return command(
      "client-pending-auth",
      [`client-pending-auth ${c} ${e} ${timeoutSec}`],
      "single",
    );
  }
  if (servesBrowserSignIn(managementVersion)) {
    return command("client-pending-auth", [`client-pending-auth ${c} ${e}`], "single");
  }
  throw new ManagementArgumentError(
    "unsupported-version",
    `client-pending-auth needs management version ${MIN_MANAGEMENT_VERSION} (OpenVPN 2.5) or later: server has ${managementVersion}`,
  );
}

/**
 * The rule for one `client-auth` config line, used both when building the command and when
 * loading the config (so a line the config accepts can always be sent): no control characters,
 * not `END` in any case or spacing (it would end the block early), at most
 * {@link MAX_CONFIG_LINE_BYTES} bytes.
 *
 * @throws {ManagementArgumentError} when the line cannot be sent
 */
export function assertClientConfigLine(line: string): void {
  assertNoControl("client config line", line);
  if (line.trim().toUpperCase() === "END") {
    throw new ManagementArgumentError(
      "reserved-line",
      "Invalid client config line: END ends the block",
    );
  }
  const size = byteLength(line);
  if (size > MAX_CONFIG_LINE_BYTES) {
    throw new ManagementArgumentError(
      "too-long",
      `Invalid client config line: too long (${size} bytes), OpenVPN reads at most ${MAX_CONFIG_LINE_BYTES}`,
    );
  }
}

/**
 * `client-auth {cid} {kid}`, the config lines, then `END`: accepts the client and applies
 * the lines as a client-connect script's output would be. Each line must pass
 * {@link assertClientConfigLine}.
 */
export function clientAuth(
  cid: number,
  kid: number,
  configLines: readonly string[],
): ManagementCommand {
  const c = assertId("client id", cid);
  const k = assertId("key id", kid);
  for (const line of configLines) assertClientConfigLine(line);
  return command("client-auth", [`client-auth ${c} ${k}`, ...configLines, "END"], "single");
}

/** `client-auth-nt {cid} {kid}`: accepts the client without config lines. */
export function clientAuthNt(cid: number, kid: number): ManagementCommand {
  return command("client-auth-nt", [
    `client-auth-nt ${assertId("client id", cid)} ${assertId("key id", kid)}`,
  ], "single");
}

/**
 * `client-deny {cid} {kid} "{reason}" ["{clientReason}"]`: `reason` goes to OpenVPN's log,
 * `clientReason` to the client (`AUTH_FAILED,<clientReason>`).
 */
export function clientDeny(
  cid: number,
  kid: number,
  reason: string,
  clientReason?: string,
): ManagementCommand {
  const parts = [
    "client-deny",
    assertId("client id", cid),
    assertId("key id", kid),
    quoteArgument("deny reason", reason),
  ];
  if (clientReason !== undefined) parts.push(quoteArgument("client deny reason", clientReason));
  return command("client-deny", [parts.join(" ")], "single");
}

/** `client-kill {cid} ["{message}"]`: disconnects the client (default message `RESTART`). */
export function clientKill(cid: number, message?: string): ManagementCommand {
  const parts = ["client-kill", assertId("client id", cid)];
  if (message !== undefined) parts.push(quoteArgument("kill message", message));
  return command("client-kill", [parts.join(" ")], "single");
}

/**
 * `client-kill {cid} "HALT,{reason}"`: ends the client and tells it not to come back, whatever
 * its `auth-retry`: a 2.6 client logs `Halt command was pushed by server ('{reason}')`, tells its
 * GUI `>NOTIFY:info,server-pushed-halt,{reason}` and exits (openvpn3 treats HALT as fatal too).
 * OpenVPN takes it for a client still waiting for its answer, at its CONNECT or pending (measured
 * with 2.6.14). `reason` must not start with `[`: the client reads that as flags (push.c).
 */
export function clientHalt(cid: number, reason: string): ManagementCommand {
  if (reason.startsWith("[")) {
    throw new ManagementArgumentError(
      "reserved-prefix",
      "Invalid halt reason: a leading [ is read as flags by the client",
    );
  }
  const message = quoteArgument("halt reason", `HALT,${reason}`);
  return command("client-kill", [`client-kill ${assertId("client id", cid)} ${message}`], "single");
}

/** `version`: multi-line; its `Management Version: N` line gives the protocol version. */
export function version(): ManagementCommand {
  return command("version", ["version"], "multi");
}

/** `hold`: `SUCCESS: hold=0|1`, the hold flag (not whether OpenVPN is holding now). */
export function holdQuery(): ManagementCommand {
  return command("hold", ["hold"], "single");
}

/** `hold release`: lets OpenVPN start when it waits in `>HOLD`; harmless otherwise. */
export function holdRelease(): ManagementCommand {
  return command("hold release", ["hold release"], "single");
}

/** `pid`: `SUCCESS: pid=N`, OpenVPN's process id (see openvpn_run.ts). */
export function pid(): ManagementCommand {
  return command("pid", ["pid"], "single");
}

/** `state on`: a `>STATE:` line at every state change from now on (restarts among them). */
export function stateOn(): ManagementCommand {
  return command("state on", ["state on"], "single");
}

/**
 * `state all`: OpenVPN's state history, oldest first, a `{time},{name},...` line each,
 * multi-line (openvpn_run.ts). `state` alone prints only the latest.
 */
export function stateHistory(): ManagementCommand {
  return command("state all", ["state all"], "multi");
}

/**
 * `status 3`: tab-separated client list, multi-line. Its own reply kind: OpenVPN 2.7 may skip it
 * (protocol.ts says how that is noticed).
 */
export function status3(): ManagementCommand {
  return command("status", ["status 3"], "status");
}

/**
 * The line answering `ENTER PASSWORD:`. OpenVPN compares the raw line, so it is not quoted.
 * Call it inside the socket write so the revealed value lives no longer than needed.
 */
export function passwordLine(password: Secret): string {
  const value = password.reveal();
  if (CONTROL.test(value)) {
    throw new ManagementArgumentError(
      "control-character",
      "Invalid management password: control characters are not allowed",
    );
  }
  if (byteLength(value) + 1 > MAX_LINE_BYTES) {
    throw new ManagementArgumentError(
      "too-long",
      `Invalid management password: longer than ${MAX_LINE_BYTES - 1} bytes`,
    );
  }
  return `${value}\n`;
}

/** Parses `Management Version: N` out of the `version` reply; undefined if absent. */
export function parseManagementVersion(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const match = /^Management Version: (\d{1,6})$/.exec(line.trim());
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}
