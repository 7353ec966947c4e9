/**
 * The last check before the answer to a browser sign-in goes to OpenVPN, made by the holder of
 * the link, the one place that sees OpenVPN's events in order. A sign-in takes minutes; if
 * OpenVPN restarted meanwhile (or a new sign-in began on the client id), the cid and kid the
 * sign-in began with now name another client, and `client-auth` would let that client in as the
 * user who signed in. A kill that names the run its client was seen in is checked the same
 * way: sent in another run, it would disconnect a stranger (a revocation that waited out an
 * OpenVPN restart, or a holder's takeover, in a cluster's queue). Commands that carry neither
 * (answers to events being handled, kills of clients whose run is not known) pass unchanged.
 */
import { ManagementCommandError, ManagementConnectionError } from "../management/errors.ts";
import type { ClientCommander, SignInRef } from "./commander.ts";

/** Refused by the bridge: the sign-in no longer names OpenVPN's client. */
export class SignInEndedError extends ManagementCommandError {
  constructor(command: string, cid: number) {
    super(command, "sign-in ended");
    this.message = `Not sending ${command} for cid ${cid}: its sign-in has ended ` +
      "(OpenVPN restarted, or a new sign-in began on that client id)";
  }
}

/** Refused by the bridge: the client to kill was seen in a run of OpenVPN that has ended. */
export class ClientRunEndedError extends ManagementCommandError {
  constructor(cid: number) {
    super("client-kill", "run ended");
    this.message = `Not sending client-kill for cid ${cid}: OpenVPN restarted since its client ` +
      "was seen (that client is gone, and the cid may name another one now)";
  }
}

/**
 * `isCurrent(cid, signIn)`: whether the sign-in still names the client at `cid` (ClientEvents);
 * undefined while the link has not come up yet. Such a command fails as any command on a link
 * still connecting does (not-connected), so a cluster's work item waits for the link instead of
 * being refused for good. `run()`: OpenVPN's run as the link last told it (undefined likewise).
 * `answered(cid, signIn)`: a sign-in's answer was written, here or for another instance (its
 * client no longer waits: ClientEvents.signInAnswered).
 */
export function signInGuard(
  inner: ClientCommander,
  isCurrent: (cid: number, signIn: SignInRef) => boolean | undefined,
  run: () => string | undefined,
  answered: (cid: number, signIn: SignInRef) => void = () => {},
): ClientCommander {
  const notYet = (command: string) =>
    new ManagementConnectionError(
      "not-connected",
      `Management interface not connected yet: cannot check the client of ${command}`,
    );
  const check = (command: string, cid: number, signIn: SignInRef | undefined) => {
    if (signIn === undefined) return;
    const current = isCurrent(cid, signIn);
    if (current === undefined) throw notYet(command);
    if (!current) throw new SignInEndedError(command, cid);
  };
  const written = (cid: number, signIn: SignInRef | undefined) => {
    if (signIn !== undefined) answered(cid, signIn);
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) => inner.pendingAuth(cid, kid, url, timeoutSec),
    // The check and the write happen in one turn: no event can come between them.
    auth: async (cid, kid, lines, signIn) => {
      check("client-auth", cid, signIn);
      await inner.auth(cid, kid, lines);
      written(cid, signIn);
    },
    authNt: (cid, kid) => inner.authNt(cid, kid),
    deny: async (cid, kid, reason, clientReason, signIn) => {
      check("client-deny", cid, signIn);
      await inner.deny(cid, kid, reason, clientReason);
      written(cid, signIn);
    },
    halt: async (cid, kid, reason, clientReason, signIn) => {
      check("client-kill", cid, signIn);
      await inner.halt(cid, kid, reason, clientReason);
      written(cid, signIn);
    },
    kill: async (cid, message, openvpnRun) => {
      if (openvpnRun !== undefined) {
        const current = run();
        if (current === undefined) throw notYet("client-kill");
        if (current !== openvpnRun) throw new ClientRunEndedError(cid);
      }
      return await inner.kill(cid, message);
    },
  };
}
