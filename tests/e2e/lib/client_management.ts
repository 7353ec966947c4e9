/**
 * The VPN client's own management interface, as an OpenVPN GUI would use it: releases the hold,
 * answers username/password prompts, and turns `>STATE`, `>INFOMSG:WEB_AUTH:<flags>:` and
 * `Verification Failed` notifications into things a test can wait for.
 */

import { ManagementConnection, quoteArg } from "./management_connection.ts";
import { parseWebAuth } from "../../support/web_auth.ts";

/** One `>STATE:` notification. */
export interface ClientState {
  readonly time: number;
  readonly name: string;
  readonly description: string;
  readonly localIp: string;
  readonly remoteIp: string;
  readonly remotePort: string;
  readonly lineIndex: number;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Parses `>STATE:time,NAME,desc,local_ip,remote_ip,remote_port,...`; undefined for other lines. */
export function parseStateLine(line: string, lineIndex = -1): ClientState | undefined {
  if (!line.startsWith(">STATE:")) return undefined;
  const [time, name, description, localIp, remoteIp, remotePort] = line.slice(7).split(",");
  if (name === undefined || name === "") return undefined;
  return {
    time: Number(time),
    name,
    description: description ?? "",
    localIp: localIp ?? "",
    remoteIp: remoteIp ?? "",
    remotePort: remotePort ?? "",
    lineIndex,
  };
}

/** Reason of a failed authentication from `>PASSWORD:Verification Failed` or a logged AUTH_FAILED. */
export function parseAuthFailed(line: string): string | undefined {
  const password = /^>PASSWORD:Verification Failed: '[^']*'(?: \['(.*)'\])?$/.exec(line);
  if (password !== null) return password[1] ?? "";
  const logged = /^>LOG:[^,]*,[^,]*,.*AUTH_FAILED(?:,(.*?))?'?$/.exec(line);
  if (logged !== null) return logged[1] ?? "";
  return undefined;
}

/**
 * The reason of a server's HALT (`client-kill {cid} "HALT,<reason>"`), from the line a 2.6 client
 * tells its GUI, `>NOTIFY:info,server-pushed-halt,<reason>` (push.c); undefined for any other.
 */
export function parseHalt(line: string): string | undefined {
  return /^>NOTIFY:info,server-pushed-halt,(.*)$/.exec(line)?.[1];
}

export class ClientManagement {
  readonly connection: ManagementConnection;

  private constructor(connection: ManagementConnection) {
    this.connection = connection;
  }

  /**
   * Connects, enables state/log/echo notifications, then releases the hold (now and after every
   * restart, since `management-hold` applies again each time).
   */
  static async connect(path: string, credentials?: Credentials): Promise<ClientManagement> {
    let ready = false;
    let holdPending = false;
    const connection = await ManagementConnection.connect(path, {
      onLine(line, conn) {
        if (line.startsWith(">HOLD:")) {
          if (ready) conn.send("hold release");
          else holdPending = true;
        } else if (line.startsWith(">PASSWORD:Need 'Auth' username/password")) {
          if (credentials === undefined) return;
          conn.send(`username "Auth" ${quoteArg(credentials.username)}`, { secret: true });
          conn.send(`password "Auth" ${quoteArg(credentials.password)}`, { secret: true });
        }
      },
    });
    // Notifications first, so that no state change after the hold release is missed.
    connection.send(["state on", "log on", "echo on"]);
    ready = true;
    if (holdPending) connection.send("hold release");
    return new ClientManagement(connection);
  }

  /** Every line received from the client's management interface. */
  get lines(): readonly string[] {
    return this.connection.lines;
  }

  /** All `>STATE:` notifications so far. */
  states(): ClientState[] {
    return this.lines.flatMap((line, index) => parseStateLine(line, index) ?? []);
  }

  /** Tunnel address from the latest CONNECTED state, if any. */
  get tunnelIp(): string | undefined {
    return this.states().findLast((state) => state.name === "CONNECTED")?.localIp;
  }

  /** Resolves with the URL of `>INFOMSG:WEB_AUTH:<flags>:<url>` (flags, if any, skipped). */
  async waitForWebAuthUrl(timeoutMs = 10_000, since = 0): Promise<string> {
    const { match } = await this.connection.waitForLine(/^>INFOMSG:(WEB_AUTH:.*)$/, {
      since,
      timeoutMs,
    });
    return parseWebAuth(match?.[1] ?? "")?.url ?? "";
  }

  /** Resolves with the AUTH_PENDING state (its description is e.g. `timeout 60`). */
  waitForAuthPending(timeoutMs = 10_000, since = 0): Promise<ClientState> {
    return this.waitForState("AUTH_PENDING", timeoutMs, since);
  }

  /** Resolves with the first `>STATE:` of the given name at line `since` or later. */
  waitForState(name: string, timeoutMs = 10_000, since = 0): Promise<ClientState> {
    let scanned = since;
    return this.connection.waitFor(`client state ${name} on ${this.connection.path}`, () => {
      for (; scanned < this.lines.length; scanned++) {
        const state = parseStateLine(this.lines[scanned]!, scanned);
        if (state?.name === name) return state;
      }
      return undefined;
    }, timeoutMs);
  }

  /** Resolves with the reason the server gave when it denied the client. */
  waitForAuthFailed(timeoutMs = 10_000, since = 0): Promise<string> {
    let scanned = since;
    return this.connection.waitFor(`AUTH_FAILED on ${this.connection.path}`, () => {
      for (; scanned < this.lines.length; scanned++) {
        const reason = parseAuthFailed(this.lines[scanned]!);
        if (reason !== undefined) return reason;
      }
      return undefined;
    }, timeoutMs);
  }

  /** Resolves with the reason the server halted the client with (parseHalt). */
  waitForHalt(timeoutMs = 10_000, since = 0): Promise<string> {
    let scanned = since;
    return this.connection.waitFor(`a HALT on ${this.connection.path}`, () => {
      for (; scanned < this.lines.length; scanned++) {
        const reason = parseHalt(this.lines[scanned]!);
        if (reason !== undefined) return reason;
      }
      return undefined;
    }, timeoutMs);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
