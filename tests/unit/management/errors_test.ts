/**
 * Management errors keep their evidence (a `code` to branch on and the `cause`) and never the
 * management password.
 */
import { inspect } from "node:util";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { Secret } from "../../../src/config/secret.ts";
import { getLogger } from "../../../src/log.ts";
import { ManagementArgumentError } from "../../../src/management/commands.ts";
import {
  ManagementCommandError,
  type ManagementConnectionError,
} from "../../../src/management/errors.ts";
import { LinkCore } from "../../../src/management/link_core.ts";

const PASSWORD = "pw-\u0007-never-shown";

Deno.test("a password that cannot be sent fails with a code and its cause, without the password", () => {
  const failures: ManagementConnectionError[] = [];
  const written: string[] = [];
  const core = new LinkCore(
    { write: (text) => written.push(text), deliver: () => {}, fail: (e) => failures.push(e) },
    {
      password: new Secret(PASSWORD),
      commandTimeoutMs: 1000,
      maxOverdueReplies: 3,
      log: getLogger("test"),
    },
    0,
  );
  core.receive("ENTER PASSWORD:", 0);
  assertEquals(written, []);
  const [failure] = failures;
  assertEquals(failure?.code, "password-rejected");
  assert(failure?.cause instanceof ManagementArgumentError);
  assertEquals(failure.cause.code, "control-character");
  const shown = inspect(failure, { depth: 5 }) + JSON.stringify(failure) + failure.message;
  assertEquals(shown.includes("never-shown"), false, shown);
});

Deno.test("an ERROR reply rejects the commander's call with code command-refused and the reply as cause", async () => {
  const commander = managementCommander({
    send: () =>
      Promise.resolve({ ticket: 1, type: "error", message: "client-deny command failed" }),
    status: () => ({ linkUp: true, managementVersion: 5, lastError: undefined }),
  });
  const error = await assertRejects(
    () => commander.deny(3, 1, "secret-reason", "text"),
    ManagementCommandError,
    "OpenVPN refused client-deny: client-deny command failed",
  );
  assertEquals([error.code, error.command], ["command-refused", "client-deny"]);
  assertEquals(error.cause, { reply: "client-deny command failed" });
  assertEquals(error.message.includes("secret-reason"), false);
});
