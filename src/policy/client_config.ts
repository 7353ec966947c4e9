/**
 * Per-group config lines sent with `client-auth`, and their validation. OpenVPN applies these
 * lines like a `--client-config-dir` file, so only the directives it accepts in that context are
 * allowed here, minus those that would hurt: see {@link validateClientConfigLine}.
 */
import type { ClientConfigRule } from "../config/types.ts";
import { inAnyGroup } from "./groups.ts";
import { splitOptionWords } from "./_option_words.ts";
import { assertClientConfigLine, ManagementArgumentError } from "../management/commands.ts";

/**
 * Directives allowed in a `client-auth` block: those OpenVPN 2.6 accepts in a client-specific
 * context (its client-connect option mask) that only shape this client's connection.
 */
const CLIENT_CONFIG_DIRECTIVES: ReadonlySet<string> = new Set([
  "push",
  "push-reset",
  "push-remove",
  "ifconfig-push",
  "ifconfig-ipv6-push",
  "iroute",
  "iroute-ipv6",
  "vlan-pvid",
  "inactive",
  "session-timeout",
  "ping",
  "ping-exit",
  "ping-restart",
  "ping-timer-rem",
  "max-routes-per-client",
  "echo",
]);

/** Directives OpenVPN would accept in this context but that are refused, and why. */
const REFUSED_DIRECTIVES: ReadonlyMap<string, string> = new Map([
  ["config", "it reads a file on the VPN server"],
  ["disable", "use the authorization rules to refuse users"],
  ["auth-token", "the bridge manages auth tokens"],
  ["auth-token-user", "the bridge manages auth tokens"],
  ["override-username", "the bridge manages the username"],
  ["compress", "compression weakens the tunnel's security"],
  ["comp-lzo", "compression weakens the tunnel's security"],
  ["cipher", "cipher negotiation belongs in the server config"],
  ["data-ciphers-fallback", "cipher negotiation belongs in the server config"],
  ["socket-flags", "socket settings belong in the server config"],
  ["bind-dev", "socket settings belong in the server config"],
]);

/** Options that must not be pushed: pushing them would break the bridge's auth tokens. */
const REFUSED_PUSHES: ReadonlySet<string> = new Set(["auth-token", "auth-token-user"]);

/**
 * The most seconds OpenVPN takes for `ping`, `ping-exit` and `ping-restart` from 2.7.6 on
 * (options.h `PING_TIMEOUT_MAX`, commit 5d8cb707 "limit ping and keepalive values to one day").
 */
export const MAX_PING_SECONDS = 86_400;
const PING_OPTIONS: ReadonlySet<string> = new Set(["ping", "ping-exit", "ping-restart"]);

const encoder = new TextEncoder();

/**
 * Checks one configured client config line at config load. Returns an error message, or
 * `undefined` when the line may be sent. Refused: whatever the `client-auth` command builder
 * refuses (control characters, `END`, lines too long for OpenVPN's buffer), lines OpenVPN's
 * lexer would reject, comments and blank lines, any directive not in
 * {@link CLIENT_CONFIG_DIRECTIVES}, pushes of `auth-token`/`auth-token-user`, pushed
 * options with a comma (OpenVPN drops them), and `ping`, `ping-exit` or `ping-restart` (set or
 * pushed) beyond {@link MAX_PING_SECONDS} or not a plain number (OpenVPN 2.7 ignores them).
 */
export function validateClientConfigLine(line: string): string | undefined {
  try {
    assertClientConfigLine(line);
  } catch (error) {
    if (error instanceof ManagementArgumentError) return error.message;
    throw error;
  }
  const split = splitOptionWords(line);
  if ("error" in split) return `Line cannot be parsed: ${split.error}`;
  const [directive, ...args] = split.words;
  if (directive === undefined) return "Line has no directive";
  const refusal = REFUSED_DIRECTIVES.get(directive);
  if (refusal !== undefined) return `Directive "${directive}" is not allowed: ${refusal}`;
  if (!CLIENT_CONFIG_DIRECTIVES.has(directive)) {
    return `Directive "${directive}" is not allowed in a client-auth block: allowed are ${
      [...CLIENT_CONFIG_DIRECTIVES].join(", ")
    }`;
  }
  if (directive === "session-timeout" && (args.length !== 1 || !/^\d+$/.test(args[0]!))) {
    // OpenVPN reads the number with atoi ("3600s" as 3600, "1e3" as 1): only plain digits mean
    // the same to it and to withSessionTimeout.
    return 'Directive "session-timeout" takes one number of seconds: session-timeout 3600';
  }
  const ping = pingProblem(`Directive "${directive}"`, directive, args);
  if (ping !== undefined) return ping;
  if (directive === "push" || directive === "push-remove") {
    const [option] = args;
    if (option === undefined || args.length !== 1) {
      return `Directive "${directive}" takes one quoted argument: ${directive} "route 10.0.0.0 255.0.0.0"`;
    }
    if (directive === "push") return validatePushedOption(option);
  }
  return undefined;
}

/**
 * OpenVPN 2.6 sends its pushed options as one comma-separated PUSH_REPLY, so it drops a pushed
 * option holding a comma at every connect, logging only "PUSH OPTION FAILED (illegal comma)":
 * the client would be admitted without it (a route, a DNS server) and nobody told.
 */
function validatePushedOption(option: string): string | undefined {
  if (option.includes(",")) {
    return "OpenVPN refuses commas in pushed options: use one push line per option";
  }
  const split = splitOptionWords(option);
  if ("error" in split) return `Pushed option cannot be parsed: ${split.error}`;
  const [name] = split.words;
  if (name === undefined) return "Pushed option is empty";
  if (REFUSED_PUSHES.has(name)) return `Pushing "${name}" is not allowed: the bridge manages it`;
  // A pushed one is the client's to apply, and a 2.7.6 client ignores it the same way.
  return pingProblem(`Pushed option "${name}"`, name, split.words.slice(1));
}

/**
 * Why `ping`, `ping-exit` or `ping-restart` with `args` is refused (`what` names it), or undefined
 * for any other option. OpenVPN 2.7.6 ignores a value above {@link MAX_PING_SECONDS}, or one it
 * cannot read whole as a number ("60s", which 2.6 read as 60), logging one line only: the
 * timers stay as they were and nobody is told.
 */
function pingProblem(what: string, name: string, args: readonly string[]): string | undefined {
  if (!PING_OPTIONS.has(name)) return undefined;
  const [seconds] = args;
  if (args.length === 1 && /^\d+$/.test(seconds!) && Number(seconds) <= MAX_PING_SECONDS) {
    return undefined;
  }
  return `${what} takes one number of seconds from 0 to ${MAX_PING_SECONDS}: ` +
    "OpenVPN 2.7 ignores any other value";
}

/**
 * The config lines for a user in `groups`: the lines of every rule the user matches (group rule:
 * see `groups.ts`), in config order, each distinct line once. A rule with no groups matches
 * nobody.
 */
export function linesForGroups(
  rules: readonly ClientConfigRule[],
  groups: readonly string[],
): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (!inAnyGroup(rule.groups, groups)) continue;
    for (const line of rule.lines) {
      if (seen.has(line)) continue;
      seen.add(line);
      lines.push(line);
    }
  }
  return lines;
}

/**
 * `lines` with `session-timeout <s>` last: OpenVPN (2.6.0 on) ends the client instance that many
 * seconds after it connected, applying the line as from a client-config-dir file. Sent with every
 * `client-auth`, the rest of the session's lifetime (`remainingMs`, at least one second), so a
 * client leaves when its session does even if no REAUTH comes to deny it (`reneg-sec 0`): a
 * session that expired was swept while its client stayed connected, beyond the reach of logouts,
 * revocations and re-checks. A `session-timeout` of the admin's own ([[client_config]]) stays in
 * force when it is shorter; it is replaced by this one line either way (OpenVPN takes the last).
 */
export function withSessionTimeout(lines: readonly string[], remainingMs: number): string[] {
  let seconds = Math.max(1, Math.ceil(remainingMs / 1000));
  const kept: string[] = [];
  for (const line of lines) {
    const split = splitOptionWords(line);
    const words = "words" in split ? split.words : [];
    if (words[0] !== "session-timeout") {
      kept.push(line);
      continue;
    }
    const configured = Number(words[1]);
    if (Number.isSafeInteger(configured) && configured > 0) {
      seconds = Math.min(seconds, configured);
    }
  }
  kept.push(`session-timeout ${seconds}`);
  return kept;
}

/** The longest username a client can decode from `auth-token-user` (OpenVPN's buffer, 128). */
const MAX_AUTH_TOKEN_USERNAME_BYTES = 127;

/**
 * `push "auth-token-user <base64(username)>"`: tells the client which username to present with
 * its auth token at the next renegotiation.
 *
 * Push it ONLY when the client sent an empty username (certificate-only or OpenVPN 3 clients):
 * the server's token HMAC covers the username the client sent, so a client told to present a
 * different one fails the check at renegotiation (`HMAC on token from client failed`) and is
 * dropped. The caller decides; this function only builds the line.
 *
 * @throws {RangeError} when the username is empty, has control characters or is longer than
 *   {@link MAX_AUTH_TOKEN_USERNAME_BYTES} bytes in UTF-8
 */
export function authTokenUserLine(username: string): string {
  const bytes = encoder.encode(username);
  if (bytes.length === 0) throw new RangeError("Username for auth-token-user is empty");
  if (/\p{Cc}/u.test(username)) {
    throw new RangeError("Username for auth-token-user contains control characters");
  }
  if (bytes.length > MAX_AUTH_TOKEN_USERNAME_BYTES) {
    throw new RangeError(
      `Username for auth-token-user is too long: ${bytes.length} bytes, at most ${MAX_AUTH_TOKEN_USERNAME_BYTES}`,
    );
  }
  return `push "auth-token-user ${base64(bytes)}"`;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
