/**
 * Redis's INFO, read once when the store opens (and by `check-config --probe`) for the rules
 * that judge the server the store runs on: its eviction policy (redis_memory_policy.ts) and its
 * persistence (redis_persistence.ts).
 */
import type { Redis } from "ioredis";
import { classifyRedisError } from "./redis_connection.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import { errorText } from "../error_text.ts";

/** What INFO told (its `name:value` lines), or why it could not be asked. */
export type RedisInfo =
  | { kind: "read"; values: ReadonlyMap<string, string> }
  /** INFO refused (an ACL user without `info`, a managed service that renames it). */
  | { kind: "unchecked"; reason: string };

/** INFO's answer: `name:value` lines under `# Section` headings. */
export function parseRedisInfo(text: string): RedisInfo & { kind: "read" } {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) values.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { kind: "read", values };
}

/**
 * Asks Redis: INFO's default sections, which hold both memory and persistence in every Redis
 * and Valkey (INFO with two sections needs Redis 7). A refusal of INFO is `unchecked`, not a
 * failure: a least-privilege ACL user often lacks it (INFO is in @dangerous). Redis not
 * answering fails as usual.
 */
export async function readRedisInfo(client: Redis): Promise<RedisInfo> {
  try {
    return parseRedisInfo(await client.info());
  } catch (error) {
    const failure = classifyRedisError(error);
    if (failure instanceof StoreUnavailableError) throw failure;
    return { kind: "unchecked", reason: errorText(error) };
  }
}
