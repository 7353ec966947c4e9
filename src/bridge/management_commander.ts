/**
 * ClientCommander over a management connection: builds each command with the one command
 * module (quoting, escaping, length limits), turns OpenVPN's `ERROR:` replies into rejections,
 * and times each command from sending to OpenVPN's answer (the
 * `management_command_duration_seconds` histogram), failed ones included. `webAuthFlags` are
 * read at each `client-pending-auth`, so a reload's flags apply to the next sign-in.
 *
 * The timing is part of the one async step a command takes here: a decorator around this
 * commander needed a promise and three closures more per command (on Bun 530 against 610-720 ns
 * per `client-auth-nt` answered at once, on Deno 490-500 against 550-600; within the noise of B1).
 */
import {
  clientAuth,
  clientAuthNt,
  clientDeny,
  clientHalt,
  clientKill,
  clientPendingAuth,
  webAuthExtra,
} from "../management/commands.ts";
import { PENDING_AUTH_KEY_ID_VERSION } from "../management/openvpn_version.ts";
import type { ManagementCommand } from "../management/commands.ts";
import type { ManagementConnection } from "../management/connection.ts";
import { ManagementCommandError } from "../management/errors.ts";
import { type ManagementCommandName, type Metrics, noMetrics } from "../metrics/port.ts";
import type { ClientCommander } from "./commander.ts";

export function managementCommander(
  connection: Pick<ManagementConnection, "send" | "status">,
  metrics: Pick<Metrics, "managementCommand"> = noMetrics,
  webAuthFlags: () => readonly string[] = () => [],
): ClientCommander {
  const send = async (name: ManagementCommandName, command: ManagementCommand) => {
    const start = performance.now();
    try {
      const reply = await connection.send(command);
      if (reply.type === "error") {
        throw new ManagementCommandError(command.name, reply.message);
      }
    } finally {
      metrics.managementCommand(name, (performance.now() - start) / 1000);
    }
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) =>
      send(
        "client-pending-auth",
        clientPendingAuth(
          cid,
          kid,
          webAuthExtra(url, webAuthFlags()),
          timeoutSec,
          // Unknown only while the link is down, when the send fails anyway.
          connection.status().managementVersion ?? PENDING_AUTH_KEY_ID_VERSION,
        ),
      ),
    auth: (cid, kid, lines) => send("client-auth", clientAuth(cid, kid, lines)),
    authNt: (cid, kid) => send("client-auth-nt", clientAuthNt(cid, kid)),
    deny: (cid, kid, reason, clientReason) =>
      send("client-deny", clientDeny(cid, kid, reason, clientReason)),
    halt: (cid, _kid, _reason, clientReason) => send("client-kill", clientHalt(cid, clientReason)),
    kill: (cid, message) => send("client-kill", clientKill(cid, message)),
  };
}
