/**
 * The protocol half of a stand-in for OpenVPN's management interface (server side, 2.6,
 * management version 5), shared by the test fake (fake_management_server.ts) and the benchmark's
 * load generator (bench/lib/load_server.ts): the greeting, OpenVPN's reply texts as recorded in
 * tests/fixtures/transcripts, `>CLIENT:` block lines, and reading the commands a client writes.
 * No sockets here.
 */

export const OPENVPN_VERSION_LINE =
  "OpenVPN Version: OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]";

export type ClientBlockKind = "CONNECT" | "REAUTH" | "ESTABLISHED" | "DISCONNECT";

/** What the replies depend on. */
export interface OpenVpnState {
  managementVersion: number;
  /** `hold` answers `hold=1` (the interface was started with `--management-hold`). */
  hold: boolean;
  /** `CLIENT_LIST` lines of `status 3` (see `clientListLine`). */
  clientList: readonly string[];
  /**
   * `pid` and the second OpenVPN started in (its first states, `startStates`): a restarted
   * OpenVPN has a new pid. Default 4242 and STARTED_AT.
   */
  pid?: number;
  startedAt?: number;
  /** The states OpenVPN added after its start (restarts in place), as `state all` prints them. */
  laterStates?: readonly string[];
}

/** When the stand-in says it reached CONNECTED (a recorded transcript's time). */
export const STARTED_AT = 1795878880;

/**
 * OpenVPN's state history at its start in second `at`, as `state all` printed it (2.6.14 in the
 * e2e lab, its addresses the stand-in's): all three states in the same second.
 */
export function startStates(at: number): string[] {
  return [
    `${at},CONNECTING,,,,,,`,
    `${at},ASSIGN_IP,,10.201.0.1,,,,`,
    `${at},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`,
  ];
}

/**
 * The reply to `state` (`state` alone is `state 1`, the latest), as OpenVPN 2.6 prints it: the
 * last `count` states of its history, oldest first, all of it for `all`; `on` and `off` turn the
 * `>STATE:` lines on and off.
 */
function stateReply(argument: string | undefined, state: OpenVpnState): string[] {
  if (argument === "on" || argument === "off") {
    return [`SUCCESS: real-time state notification set to ${argument.toUpperCase()}`];
  }
  const history = [
    ...startStates(state.startedAt ?? STARTED_AT),
    ...(state.laterStates ?? []),
  ];
  const count = argument === "all" ? history.length : Number(argument ?? 1);
  if (!(count > 0)) {
    // As manage.c's man_history words it (the bridge never asks so).
    return ["ERROR: state parameter must be 'on' or 'off' or some number n or 'all'"];
  }
  return [...history.slice(-count), "END"];
}

export function greetingLine(managementVersion = 5): string {
  return `>INFO:OpenVPN Management Interface Version ${managementVersion} -- type 'help' for more info`;
}

/** Lines as OpenVPN writes them: each ended with `\r\n`. */
export function wire(lines: readonly string[]): string {
  let text = "";
  for (const line of lines) text += `${line}\r\n`;
  return text;
}

/** How a `CLIENT_LIST` line differs from an admitted client's of 8 s before `status`'s TIME. */
export interface ClientListLineOptions {
  /**
   * No virtual address: OpenVPN has not admitted the client (its CONNECT is unanswered, or was
   * dropped while no management client was connected).
   */
  unaddressed?: boolean;
  /** `Connected Since (time_t)`, in seconds. */
  connectedSince?: number;
}

/** A `CLIENT_LIST` line of `status 3` for client `cid`, as OpenVPN prints it. */
export function clientListLine(
  cid: number,
  commonName: string,
  { unaddressed = false, connectedSince = 1795878880 }: ClientListLineOptions = {},
): string {
  return [
    "CLIENT_LIST",
    commonName,
    `10.${(cid >> 16) & 255}.${(cid >> 8) & 255}.${cid & 255}:${1024 + (cid % 60000)}`,
    unaddressed ? "" : `10.201.${(cid >> 8) & 255}.${cid & 255}`,
    "",
    "4512",
    "3931",
    "2026-11-28 15:14:40",
    String(connectedSince),
    "UNDEF",
    String(cid),
    String(cid),
    "AES-256-GCM",
  ].join("\t");
}

/** The lines of a `>CLIENT:` block: header, ENV lines, `>CLIENT:ENV,END`. */
export function clientBlockLines(
  kind: ClientBlockKind,
  cid: number,
  kid: number | undefined,
  env: Record<string, string> | Iterable<readonly [string, string]>,
): string[] {
  const header = kind === "CONNECT" || kind === "REAUTH"
    ? `>CLIENT:${kind},${cid},${kid ?? 0}`
    : `>CLIENT:${kind},${cid}`;
  const pairs = Symbol.iterator in env
    ? env as Iterable<readonly [string, string]>
    : Object.entries(env);
  const lines = [header];
  for (const [name, value] of pairs) lines.push(`>CLIENT:ENV,${name}=${value}`);
  lines.push(">CLIENT:ENV,END");
  return lines;
}

const CLIENT_AUTH_OK = ["SUCCESS: client-auth command succeeded"] as const;
const CLIENT_DENY_OK = ["SUCCESS: client-deny command succeeded"] as const;
const CLIENT_PENDING_AUTH_OK = ["SUCCESS: client-pending-auth command succeeded"] as const;

/** OpenVPN 2.6's reply to one command (a `client-auth` block joined with `\n`), `END` included. */
export function openVpnReply(command: string, state: OpenVpnState): readonly string[] {
  // No splitting up front: the load generator answers thousands of these per second.
  const newline = command.indexOf("\n");
  const first = newline === -1 ? command : command.slice(0, newline);
  const space = first.indexOf(" ");
  const name = space === -1 ? first : first.slice(0, space);
  const args = () => (space === -1 ? [] : first.slice(space + 1).split(" "));
  switch (name) {
    case "version":
      return args().length > 0
        ? []
        : [OPENVPN_VERSION_LINE, `Management Version: ${state.managementVersion}`, "END"];
    case "pid":
      return [`SUCCESS: pid=${state.pid ?? 4242}`];
    case "hold":
      if (args()[0] === "release") return ["SUCCESS: hold release succeeded"];
      return [`SUCCESS: hold=${state.hold ? 1 : 0}`];
    case "status":
      return [
        "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu",
        "TIME\t2026-11-28 15:14:48\t1795878888",
        "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
        ...state.clientList,
        "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)",
        "GLOBAL_STATS\tMax bcast/mcast queue length\t0",
        "GLOBAL_STATS\tdco_enabled\t0",
        "END",
      ];
    case "client-auth":
    case "client-auth-nt":
      return CLIENT_AUTH_OK;
    case "client-deny":
      return CLIENT_DENY_OK;
    case "client-kill":
      return ["SUCCESS: client-kill command succeeded"];
    case "client-pending-auth":
      return CLIENT_PENDING_AUTH_OK;
    case "bytecount":
      return ["SUCCESS: bytecount interval changed"];
    case "state":
      return stateReply(args()[0], state);
    case "log":
    case "echo":
      return [
        `SUCCESS: real-time ${name} notification set to ${args()[0] === "off" ? "OFF" : "ON"}`,
      ];
    default:
      return [`ERROR: unknown command [${name}], enter 'help' for more options`];
  }
}

/**
 * Splits what a management client writes into commands: one per line, except that
 * `client-auth {cid} {kid}` and its config lines up to `END` form one command (joined with `\n`).
 */
export class CommandReader {
  #buffered = "";
  #block: string | undefined;

  /**
   * Calls `onLine` for every line and `onCommand` for each command that line completes, in
   * order.
   */
  push(
    chunk: string,
    onCommand: (command: string) => void,
    onLine?: (line: string) => void,
  ): void {
    const text = this.#buffered === "" ? chunk : this.#buffered + chunk;
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf("\n", start)) !== -1) {
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      const line = text.slice(start, end);
      start = newline + 1;
      onLine?.(line);
      if (this.#block !== undefined) {
        this.#block += `\n${line}`;
        if (line !== "END") continue;
        const command = this.#block;
        this.#block = undefined;
        onCommand(command);
      } else if (line.startsWith("client-auth ")) {
        this.#block = line;
      } else {
        onCommand(line);
      }
    }
    this.#buffered = text.slice(start);
  }
}
