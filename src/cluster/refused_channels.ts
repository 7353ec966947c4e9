/**
 * An ACL user with the cluster's keys but not its pub/sub channels. Redis 7 gives a new ACL user
 * no channels (`acl-pubsub-default resetchannels`), so this is the usual mistake, and it does not
 * merely cost the notifications: every script that publishes (ENQUEUE, RECORD) is refused too,
 * so no work crosses instances. A start that finds it fails, naming the fix, as a refused key
 * does (refusedCredentials); a reconnect that finds it (the ACL changed meanwhile) logs that same
 * text as an error (work_notifications.ts). Any other failure to subscribe only costs the
 * notifications.
 */
import { replyCode } from "../sessions/redis_connection.ts";
import type { ClusterKeys } from "./work_queue.ts";

/**
 * Redis 7.0's refusal of a channel: NOPERM to SUBSCRIBE or PUBLISH, and inside a script
 * "ERR The user executing the script can't publish to the channel mentioned in the command".
 */
const SCRIPT_PUBLISH_REFUSED = /can't publish to the channel/;

/**
 * `error` as a start error naming the channels to allow, when it is Redis refusing them; undefined
 * for any other failure. `where`: the URL without credentials; `username`: the ACL user (none:
 * Redis's default user); `keys`: the cluster's, whose prefix every channel starts with.
 */
export function refusedChannels(
  error: unknown,
  where: string,
  username: string | undefined,
  keys: Pick<ClusterKeys, "prefix">,
): Error | undefined {
  if ((error as { name?: unknown })?.name !== "ReplyError") return undefined;
  const reply = (error as Error).message;
  if (replyCode(reply) !== "NOPERM" && !SCRIPT_PUBLISH_REFUSED.test(reply)) return undefined;
  const user = username === undefined ? "Redis's default user" : `the ACL user "${username}"`;
  return new Error(
    `Redis refused the cluster's notification channels at ${where}: ${reply.replace(/\.$/, "")}; ` +
      `allow ${user} the channels under sessions.key_prefix + "c:" in its ACL ` +
      `(&${keys.prefix}*, with subscribe and publish; Redis 7 gives a new ACL user none), or ` +
      "use another sessions.username",
    { cause: error },
  );
}
