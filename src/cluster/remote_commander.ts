/**
 * A ClientCommander for a server whose management link another instance may hold: each
 * command becomes a work item in Redis, and the call resolves only when the holder recorded
 * that OpenVPN answered SUCCESS (so a success page means the client was really admitted).
 */
import { type ClientCommander, CommandUndeliveredError } from "../bridge/commander.ts";
import { ManagementCommandError } from "../management/errors.ts";
import { signInField, type WorkOp } from "./work_item.ts";
import type { WorkQueue } from "./work_queue.ts";

export function remoteCommander(
  queue: Pick<WorkQueue, "submit">,
  server: string,
  waitMs: number,
): ClientCommander {
  const run = async (op: WorkOp) => {
    const outcome = await queue.submit(server, op, waitMs);
    if (outcome.kind === "refused") throw new ManagementCommandError(op.op, outcome.message);
    if (outcome.kind === "unknown") {
      throw new CommandUndeliveredError(
        `OpenVPN server ${server} did not answer the command: it may have been carried out`,
      );
    }
    if (outcome.kind === "expired") {
      throw new CommandUndeliveredError(
        `OpenVPN server ${server} did not answer within ${waitMs} ms: no bridge instance ` +
          "holds its management link",
      );
    }
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) =>
      run({ op: "pending-auth", cid, kid, url, timeoutSec }),
    auth: (cid, kid, lines, signIn) => run({ op: "auth", cid, kid, lines, ...signInField(signIn) }),
    authNt: (cid, kid) => run({ op: "auth-nt", cid, kid }),
    deny: (cid, kid, reason, clientReason, signIn) =>
      run({ op: "deny", cid, kid, reason, clientReason, ...signInField(signIn) }),
    halt: (cid, kid, reason, clientReason, signIn) =>
      run({ op: "deny", cid, kid, reason, clientReason, ...signInField(signIn), halt: true }),
    kill: (cid, message, openvpnRun) =>
      run({ op: "kill", cid, message, ...(openvpnRun === undefined ? {} : { openvpnRun }) }),
  };
}
