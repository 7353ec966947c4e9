/**
 * A socket that plays OpenVPN's management interface for ManagementConnection (its
 * `createSocket`): it answers each command line as OpenVPN 2.6 does (tests/support/openvpn_side.ts),
 * but for those `silent` picks, which the test may answer itself (`emit("data", ...)`).
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Clock } from "../../src/clock.ts";
import type { ManagementAddress } from "../../src/config/types.ts";
import { ManagementConnection } from "../../src/management/connection.ts";
import { greetingLine, openVpnReply, wire } from "./openvpn_side.ts";

/** Answers each command line as OpenVPN 2.6 does, but for those `silent` picks. */
export class ScriptedSocket extends EventEmitter {
  readonly written: string[] = [];
  #destroyed = false;

  constructor(readonly silent: (line: string) => boolean) {
    super();
  }

  setEncoding(): this {
    return this;
  }

  write(text: string): boolean {
    for (const line of text.split("\n").slice(0, -1)) {
      this.written.push(line);
      if (this.silent(line)) continue;
      const reply = wire(openVpnReply(line, { managementVersion: 5, hold: false, clientList: [] }));
      queueMicrotask(() => this.emit("data", reply));
    }
    return true;
  }

  end(callback?: () => void): this {
    this.destroy();
    callback?.();
    return this;
  }

  destroy(): this {
    if (!this.#destroyed) {
      this.#destroyed = true;
      queueMicrotask(() => this.emit("close"));
    }
    return this;
  }

  /** The connection is open and OpenVPN greets. */
  open(): void {
    this.emit("connect");
    this.emit("data", wire([greetingLine(5)]));
  }
}

/**
 * A ManagementConnection whose every socket is a ScriptedSocket answering all it is sent (kept in
 * `sockets`, the newest last), with no jitter: each reconnect delay is half its base (200 ms,
 * doubled per failure in a row, up to `reconnectMaxDelayMs`).
 */
export function scriptedConnection(
  address: ManagementAddress,
  reconnectMaxDelayMs: number,
  clock: Clock,
): { connection: ManagementConnection; sockets: ScriptedSocket[] } {
  const sockets: ScriptedSocket[] = [];
  const connection = new ManagementConnection({
    address,
    commandTimeoutMs: 2000,
    reconnectMinDelayMs: 200,
    reconnectMaxDelayMs,
    clock,
    random: () => 0,
    createSocket: () => {
      const socket = new ScriptedSocket(() => false);
      sockets.push(socket);
      return socket as unknown as Socket;
    },
  });
  return { connection, sockets };
}

/** Lets the sockets' events (microtasks) and what they start run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
