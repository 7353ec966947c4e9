import type { RedisSettings } from "../../src/config/types.ts";

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
