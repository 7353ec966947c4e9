import type { RedisSettings } from "../../src/config/types.ts";
import { connectRedis } from "../../src/sessions/redis_connection.ts";

/**
 * The settings of a test's connection to the redis-server at `url`, its keys under
 * `keyPrefix`: no credentials, no CA file, and a 500 ms store timeout (a quarter of the 2 s
 * default, so that a test of an outage does not wait long); then `overrides`.
 */
export function redisSettings(
  url: string,
  keyPrefix: string,
  overrides: Partial<RedisSettings> = {},
): RedisSettings {
  return {
    url,
    username: undefined,
    password: undefined,
    keyPrefix,
    tlsCaFile: undefined,
    storeTimeoutMs: 500,
    ...overrides,
  };
}

/**
 * `ACL SETUSER <user> on ><password> <rules...>` on the redis-server at `url`, through a
 * connection of the default user (closed again): for tests of what an ACL user may not do.
 */
export async function setAclUser(
  url: string,
  user: string,
  password: string,
  rules: readonly string[],
): Promise<void> {
  const admin = await connectRedis(redisSettings(url, "acl-admin:"));
  try {
    await admin.call("ACL", "SETUSER", user, "on", `>${password}`, ...rules);
  } finally {
    admin.disconnect();
  }
}
