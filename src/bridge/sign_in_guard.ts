/**
 * The last check before the answer to a browser sign-in goes to OpenVPN, made by the holder of
 * the link, the one place that sees OpenVPN's events in order. A sign-in takes minutes; if
 * OpenVPN restarted meanwhile (or a new sign-in began on the client id), the cid and kid the
 * sign-in began with now name another client, and `client-auth` would let that client in as the
 * user who signed in. Commands that carry no sign-in (answers to events being handled, kills)
 * pass unchanged.
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

/**
 * `isCurrent(cid, signIn)`: whether the sign-in still names the client at `cid` (ClientEvents);
 * undefined while the link has not come up yet. Such a command fails as any command on a link
 * still connecting does (not-connected), so a cluster's work item waits for the link instead of
 * being refused for good.
 */
export function signInGuard(
  inner: ClientCommander,
  isCurrent: (cid: number, signIn: SignInRef) => boolean | undefined,
): ClientCommander {
  const check = (command: string, cid: number, signIn: SignInRef | undefined) => {
    if (signIn === undefined) return;
    const current = isCurrent(cid, signIn);
    if (current === undefined) {
      throw new ManagementConnectionError(
        "not-connected",
        `Management interface not connected yet: cannot check the sign-in of ${command}`,
      );
    }
    if (!current) throw new SignInEndedError(command, cid);
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) => inner.pendingAuth(cid, kid, url, timeoutSec),
    // The check and the write happen in one turn: no event can come between them.
    auth: async (cid, kid, lines, signIn) => {
      check("client-auth", cid, signIn);
      return await inner.auth(cid, kid, lines);
    },
    authNt: (cid, kid) => inner.authNt(cid, kid),
    deny: async (cid, kid, reason, clientReason, signIn) => {
      check("client-deny", cid, signIn);
      return await inner.deny(cid, kid, reason, clientReason);
    },
    kill: (cid, message) => inner.kill(cid, message),
  };
}
