/**
 * ClientCommander over a management connection: builds each command with the one command
 * module (quoting, escaping, length limits) and turns OpenVPN's `ERROR:` replies into
 * rejections.
 */
import {
  clientAuth,
  clientAuthNt,
  clientDeny,
  clientKill,
  clientPendingAuth,
  webAuthExtra,
} from "../management/commands.ts";
import type { ManagementCommand } from "../management/commands.ts";
import type { ManagementConnection } from "../management/connection.ts";
import { ManagementCommandError } from "../management/errors.ts";
import type { ClientCommander } from "./commander.ts";

export function managementCommander(
  connection: Pick<ManagementConnection, "send" | "status">,
): ClientCommander {
  const send = async (command: ManagementCommand) => {
    const reply = await connection.send(command);
    if (reply.type === "error") {
      throw new ManagementCommandError(command.name, reply.message);
    }
  };
  return {
    pendingAuth: (cid, kid, url, timeoutSec) =>
      send(
        clientPendingAuth(
          cid,
          kid,
          webAuthExtra(url),
          timeoutSec,
          connection.status().managementVersion ?? 5,
        ),
      ),
    auth: (cid, kid, lines) => send(clientAuth(cid, kid, lines)),
    authNt: (cid, kid) => send(clientAuthNt(cid, kid)),
    deny: (cid, kid, reason, clientReason) => send(clientDeny(cid, kid, reason, clientReason)),
    kill: (cid, message) => send(clientKill(cid, message)),
  };
}
