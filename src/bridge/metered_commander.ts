/**
 * A ClientCommander that times each command from sending to OpenVPN's answer (the
 * `management_command_duration_seconds` histogram), failed ones included.
 */
import type { ManagementCommandName, Metrics } from "../metrics/port.ts";
import type { ClientCommander } from "./commander.ts";

export function meteredCommander(inner: ClientCommander, metrics: Metrics): ClientCommander {
  // Not an async wrapper: an extra async frame per command cost more than the rest of it.
  const timed = (command: ManagementCommandName, sent: () => Promise<void>) => {
    const start = performance.now();
    const done = () => metrics.managementCommand(command, (performance.now() - start) / 1000);
    const answer = sent();
    answer.then(done, done);
    return answer;
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) =>
      timed("client-pending-auth", () => inner.pendingAuth(cid, kid, url, timeoutSec)),
    auth: (cid, kid, lines) => timed("client-auth", () => inner.auth(cid, kid, lines)),
    authNt: (cid, kid) => timed("client-auth-nt", () => inner.authNt(cid, kid)),
    deny: (cid, kid, reason, clientReason) =>
      timed("client-deny", () => inner.deny(cid, kid, reason, clientReason)),
    kill: (cid, message) => timed("client-kill", () => inner.kill(cid, message)),
  };
}
