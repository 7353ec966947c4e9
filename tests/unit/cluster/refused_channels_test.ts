/**
 * refusedChannels: which failures to subscribe fail a cluster's start (Redis refusing the ACL
 * user the channels, as SUBSCRIBE's NOPERM or a script's refused PUBLISH says it) and which only
 * cost the notifications (anything else: the instances poll).
 */
import { refusedChannels } from "../../../src/cluster/refused_channels.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";
import { assert, assertEquals, assertStrictEquals } from "../../support/assert.ts";

const WHERE = "redis://10.0.0.7:6379/0";
const KEYS = new ClusterKeys("vpn:");

/** A reply Redis sent, as ioredis rejects with it. */
function reply(message: string): Error {
  return Object.assign(new Error(message), { name: "ReplyError" });
}

Deno.test("refusedChannels() names the channel pattern and the ACL user for SUBSCRIBE's NOPERM", () => {
  const cause = reply(
    "NOPERM this user has no permissions to access one of the channels used as arguments",
  );
  const error = refusedChannels(cause, WHERE, "bridge", KEYS);
  assert(error !== undefined);
  assertEquals(
    error.message,
    "Redis refused the cluster's notification channels at redis://10.0.0.7:6379/0: NOPERM this " +
      "user has no permissions to access one of the channels used as arguments; allow the ACL " +
      'user "bridge" the channels under sessions.key_prefix + "c:" in its ACL (&vpn:c:*, with ' +
      "subscribe and publish; Redis 7 gives a new ACL user none), or use another " +
      "sessions.username",
  );
  assertStrictEquals(error.cause, cause);
});

Deno.test("refusedChannels() knows Redis 7.0's refusal of a PUBLISH inside a script, and the default user", () => {
  const error = refusedChannels(
    reply(
      "ERR The user executing the script can't publish to the channel mentioned in the " +
        "command script: 9880e5dc83da88f88f7b3e452c54cde7552ba6a2, on @user_script:3.",
    ),
    WHERE,
    undefined,
    KEYS,
  );
  assert(error !== undefined);
  assert(error.message.includes("on @user_script:3; allow Redis's default user the channels"));
});

Deno.test("refusedChannels() leaves every other failure to subscribe alone (polling goes on)", () => {
  for (
    const other of [
      reply("ERR unknown command 'subscribe'"),
      reply("LOADING Redis is loading the dataset in memory"),
      new Error("NOPERM in a message that Redis did not send"),
      new Error("Connection is closed."),
      "NOPERM",
      undefined,
    ]
  ) {
    assertEquals(refusedChannels(other, WHERE, "bridge", KEYS), undefined, String(other));
  }
});
