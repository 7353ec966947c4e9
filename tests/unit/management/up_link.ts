/**
 * A LinkCore brought up at time 0 by what OpenVPN 2.6 answers to the handshake, with a port that
 * records the link's failures: for tests of what happens to commands on a link that is up.
 */
import { assert } from "../../support/assert.ts";
import { getLogger } from "../../../src/log.ts";
import type { ManagementConnectionError } from "../../../src/management/errors.ts";
import { LinkCore, type LinkOptions } from "../../../src/management/link_core.ts";

/** What OpenVPN 2.6 answers to the handshake (handshake-plain.server-mgmt.txt), in order. */
const HANDSHAKE_REPLIES = [
  "OpenVPN Version: OpenVPN 2.6.14\nManagement Version: 5\nEND\n",
  "SUCCESS: pid=10092\n",
  "SUCCESS: real-time state notification set to ON\n",
  "1796128683,CONNECTED,SUCCESS,,,,,\nEND\n",
  "SUCCESS: hold=0\n",
];

export function upLinkCore(options: Pick<LinkOptions, "commandTimeoutMs" | "maxOverdueReplies">) {
  const failures: ManagementConnectionError[] = [];
  let writes = 0;
  const core = new LinkCore(
    { write: () => writes++, deliver: () => {}, fail: (error) => failures.push(error) },
    { password: undefined, log: getLogger("test"), ...options },
    0,
  );
  core.receive(">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\n", 0);
  for (const reply of HANDSHAKE_REPLIES) core.receive(reply, 0);
  assert(core.ready, `the handshake did not finish after ${writes} commands`);
  return { core, failures };
}
