/**
 * A `client-pending-auth` sent while the link is down: the connection knows no management version
 * then, and the command must still reach the link, which refuses it as not written (so a cluster
 * holder may carry it out, and it is no bug of ours).
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { notWritten } from "../../../src/bridge/commander.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";

Deno.test("client-pending-auth with the link down (no management version known) is refused by the link as not written", async () => {
  const sent: string[] = [];
  const commander = managementCommander({
    send: (command) => {
      sent.push(command.text);
      return Promise.reject(new ManagementConnectionError("not-connected", "not connected"));
    },
    status: () => ({ linkUp: false, managementVersion: undefined, lastError: undefined }),
  });
  const error = await assertRejects(
    () => commander.pendingAuth(3, 1, "https://vpn.example.com/login/abc", 60),
  );
  assert(notWritten(error), String(error));
  // Built in the newest form: a link that comes back is 2.6.2 or later, or refuses it itself.
  assertEquals(sent, ['client-pending-auth 3 1 "WEB_AUTH::https://vpn.example.com/login/abc" 60']);
});
