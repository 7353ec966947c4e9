import type { ClientCommander } from "../../src/bridge/commander.ts";

export type RecordedCommand =
  | { kind: "pending"; cid: number; kid: number; url: string; timeoutSec: number }
  | { kind: "auth"; cid: number; kid: number; lines: string[] }
  | { kind: "auth-nt"; cid: number; kid: number }
  | { kind: "deny"; cid: number; kid: number; reason: string; clientReason: string }
  | { kind: "kill"; cid: number; message: string };

/** A ClientCommander that records what the bridge would have told OpenVPN. */
export class RecordingCommander implements ClientCommander {
  readonly commands: RecordedCommand[] = [];
  /** When set, the next commands reject as OpenVPN's `ERROR:` would. */
  failWith: string | undefined;

  #record(command: RecordedCommand): Promise<void> {
    this.commands.push(command);
    return this.failWith ? Promise.reject(new Error(this.failWith)) : Promise.resolve();
  }

  pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void> {
    return this.#record({ kind: "pending", cid, kid, url, timeoutSec });
  }
  auth(cid: number, kid: number, lines: readonly string[]): Promise<void> {
    return this.#record({ kind: "auth", cid, kid, lines: [...lines] });
  }
  authNt(cid: number, kid: number): Promise<void> {
    return this.#record({ kind: "auth-nt", cid, kid });
  }
  deny(cid: number, kid: number, reason: string, clientReason: string): Promise<void> {
    return this.#record({ kind: "deny", cid, kid, reason, clientReason });
  }
  kill(cid: number, message: string): Promise<void> {
    return this.#record({ kind: "kill", cid, message });
  }
}
