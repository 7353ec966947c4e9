import type { ClientCommander, SignInRef } from "../../src/bridge/commander.ts";
import { clientDeny, clientHalt } from "../../src/management/commands.ts";
import { ManagementCommandError, ManagementConnectionError } from "../../src/management/errors.ts";

/** The sign-in an answer was for, recorded only when there was one. */
type ForSignIn = { signIn?: SignInRef };

export type RecordedCommand =
  | { kind: "pending"; cid: number; kid: number; url: string; timeoutSec: number }
  | { kind: "auth"; cid: number; kid: number; lines: string[] } & ForSignIn
  | { kind: "auth-nt"; cid: number; kid: number }
  | { kind: "deny"; cid: number; kid: number; reason: string; clientReason: string } & ForSignIn
  | { kind: "halt"; cid: number; kid: number; reason: string; clientReason: string } & ForSignIn
  | { kind: "kill"; cid: number; message: string; openvpnRun?: string };

/** A ClientCommander that records what the bridge would have told OpenVPN. */
export class RecordingCommander implements ClientCommander {
  readonly commands: RecordedCommand[] = [];
  /** When set, the next commands reject as OpenVPN's `ERROR:` would. */
  failWith: string | undefined;

  #record(command: RecordedCommand): Promise<void> {
    this.commands.push(command);
    // As OpenVPN's ERROR reply reaches the bridge (management_commander.ts).
    return this.failWith
      ? Promise.reject(new ManagementCommandError(command.kind, this.failWith))
      : Promise.resolve();
  }

  pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void> {
    return this.#record({ kind: "pending", cid, kid, url, timeoutSec });
  }
  auth(cid: number, kid: number, lines: readonly string[], signIn?: SignInRef): Promise<void> {
    return this.#record({ kind: "auth", cid, kid, lines: [...lines], ...(signIn && { signIn }) });
  }
  authNt(cid: number, kid: number): Promise<void> {
    return this.#record({ kind: "auth-nt", cid, kid });
  }
  deny(
    cid: number,
    kid: number,
    reason: string,
    clientReason: string,
    signIn?: SignInRef,
  ): Promise<void> {
    return this.#record({
      kind: "deny",
      cid,
      kid,
      reason,
      clientReason,
      ...(signIn && { signIn }),
    });
  }
  halt(
    cid: number,
    kid: number,
    reason: string,
    clientReason: string,
    signIn?: SignInRef,
  ): Promise<void> {
    return this.#record({
      kind: "halt",
      cid,
      kid,
      reason,
      clientReason,
      ...(signIn && { signIn }),
    });
  }
  kill(cid: number, message: string, openvpnRun?: string): Promise<void> {
    return this.#record({ kind: "kill", cid, message, ...(openvpnRun && { openvpnRun }) });
  }
}

/**
 * A management link that can be down: while `state.up` is false every command is refused before
 * it is written ("not-connected"), as the real connection refuses it while it (re)connects;
 * while up, each is recorded in `commands`.
 */
export function switchableLink(initially: { up: boolean }): {
  commander: ClientCommander;
  commands: RecordedCommand[];
  state: { up: boolean };
} {
  const recorded = new RecordingCommander();
  const state = { up: initially.up };
  const down = () =>
    Promise.reject(
      new ManagementConnectionError("not-connected", "Management interface not connected"),
    );
  const commander: ClientCommander = {
    pendingAuth: (...args) => state.up ? recorded.pendingAuth(...args) : down(),
    auth: (...args) => state.up ? recorded.auth(...args) : down(),
    authNt: (...args) => state.up ? recorded.authNt(...args) : down(),
    deny: (...args) => state.up ? recorded.deny(...args) : down(),
    halt: (...args) => state.up ? recorded.halt(...args) : down(),
    kill: (...args) => state.up ? recorded.kill(...args) : down(),
  };
  return { commander, commands: recorded.commands, state };
}

/**
 * The text OpenVPN gets for a recorded refusal (`client-deny`, or a halt's `client-kill`), built by
 * the command module as the management commander builds it; any other command by its kind.
 */
export function wireOf(command: RecordedCommand): string {
  if (command.kind === "deny") {
    return clientDeny(command.cid, command.kid, command.reason, command.clientReason).text;
  }
  if (command.kind === "halt") return clientHalt(command.cid, command.clientReason).text;
  return command.kind;
}
