/**
 * The commander ClientEvents answers events with: `client-auth-nt` (a REAUTH accepted) and
 * `client-pending-auth` (a CONNECT sent to the browser) are written at once, and OpenVPN's reply
 * to them is awaited apart from the event.
 *
 * Why: an event's handling holds its block, and the block is a slice of the chunk it was read
 * in. Awaited inside the handling, each answer kept its block and chunk alive for a round trip
 * to OpenVPN; in a REAUTH storm most of the young generation was such blocks, about 4 KB per
 * REAUTH moved on to the old generation, and a full collection followed every other storm of
 * 10,000. Apart, the handling ends once the answer is written, and what waits for the reply
 * holds the cid and kid alone.
 *
 * Nothing is admitted that was not before: OpenVPN refusing the answer (`ERROR:`) is reported
 * to `notTaken`, which denies the client by its ids, as a failed handling did (not after a
 * refused `client-auth-nt`: that was the answer, and the key is gone; nor after a refused
 * `client-pending-auth` whose client had left; commander.ts). An answer that
 * was not confirmed (no reply in time, the link dropped) is not denied: OpenVPN may still run
 * it (commander.ts, `outcomeUnknown`). The other answers are awaited as before: a sign-in's answer is reported to the browser,
 * and the admissions and denials that are audited are audited once OpenVPN took them.
 */
import type { ClientCommander } from "./commander.ts";

export type AnswerApart = "client-auth-nt" | "client-pending-auth";

export function answersApart(
  commander: ClientCommander,
  notTaken: (answer: AnswerApart, cid: number, kid: number, error: unknown) => void,
): ClientCommander {
  return {
    authNt(cid, kid) {
      commander.authNt(cid, kid).catch((error) => notTaken("client-auth-nt", cid, kid, error));
      return Promise.resolve();
    },
    pendingAuth(cid, kid, url, timeoutSec) {
      commander.pendingAuth(cid, kid, url, timeoutSec).catch((error) =>
        notTaken("client-pending-auth", cid, kid, error)
      );
      return Promise.resolve();
    },
    auth: (cid, kid, lines, signIn) => commander.auth(cid, kid, lines, signIn),
    deny: (cid, kid, reason, clientReason, signIn) =>
      commander.deny(cid, kid, reason, clientReason, signIn),
    halt: (cid, kid, reason, clientReason, signIn) =>
      commander.halt(cid, kid, reason, clientReason, signIn),
    kill: (cid, message, openvpnRun) => commander.kill(cid, message, openvpnRun),
  };
}
