/**
 * A socket that plays OpenVPN's management interface for ManagementConnection (its
 * `createSocket`): it answers each command line as OpenVPN 2.6 does (tests/support/openvpn_side.ts),
 * but for those `silent` picks, which the test may answer itself (`emit("data", ...)`).
 */
import { EventEmitter } from "node:events";
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
