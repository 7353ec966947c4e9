/**
 * A cluster's commander for one server: written straight onto the link when this instance holds
 * it, through Redis (remoteCommander) when another instance does. The holder carries out queued
 * work on that same fenced link, so the direct path drops only the Redis rounds and the waiting
 * instance's polling for the outcome: nothing about who may write changes.
 */
import { type ClientCommander, notWritten } from "../bridge/commander.ts";

/**
 * `held()` is the commander of the link this instance holds and has connected, or undefined.
 * A command the held link did not write (the link was down, or the lease may have run out:
 * `not-connected`, `not-written`) goes through `remote`, where the next holder takes it, as the
 * holder's own work runner leaves such an item for its next drain. One written and not answered
 * (a timeout, the link dropped or closed after the write) is not sent again: OpenVPN may have
 * run it, and it takes a command for a key it knows again (measured with 2.6.14: a second
 * `client-auth` answers SUCCESS, and a `client-deny` after a `client-auth` still turns the client
 * away); its caller treats it as unconfirmed (outcomeUnknown). OpenVPN's refusal (ManagementCommandError) and
 * bad arguments are the answer, as on a single bridge.
 */
export function heldFirstCommander(
  held: () => ClientCommander | undefined,
  remote: ClientCommander,
): ClientCommander {
  const run = async (local: (c: ClientCommander) => Promise<void>) => {
    const commander = held();
    if (commander !== undefined) {
      try {
        return await local(commander);
      } catch (error) {
        if (!notWritten(error)) throw error;
      }
    }
    return await local(remote);
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) =>
      run((c) => c.pendingAuth(cid, kid, url, timeoutSec)),
    auth: (cid, kid, lines, signIn) => run((c) => c.auth(cid, kid, lines, signIn)),
    authNt: (cid, kid) => run((c) => c.authNt(cid, kid)),
    deny: (cid, kid, reason, clientReason, signIn) =>
      run((c) => c.deny(cid, kid, reason, clientReason, signIn)),
    halt: (cid, kid, reason, clientReason, signIn) =>
      run((c) => c.halt(cid, kid, reason, clientReason, signIn)),
    kill: (cid, message, openvpnRun) => run((c) => c.kill(cid, message, openvpnRun)),
  };
}
