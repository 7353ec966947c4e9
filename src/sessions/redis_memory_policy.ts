/**
 * Whether Redis may evict the store's keys: the rule the store's start and `check-config
 * --probe` both apply. Every key of the store carries a TTL (redis_scripts.ts), so under any
 * maxmemory-policy but `noeviction` (volatile-lru is ElastiCache's and Memorystore's default)
 * a Redis whose memory fills drops sessions, sign-ins, index sets and locks without a word: a
 * session whose index sets went is still admitted at its REAUTH while a back-channel logout or a
 * `sessions revoke --user` finds nothing to end. Under `noeviction` a full Redis refuses writes
 * with OOM instead, which the store reports as unavailable (fail closed).
 */
import type { Redis } from "ioredis";
import { getLogger } from "../log.ts";
import { classifyRedisError } from "./redis_connection.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";

const log = getLogger("sessions");

/** What INFO memory told of eviction, or why it could not be asked. */
export type MemoryPolicy =
  /** maxmemory (0: no limit) and maxmemory-policy as Redis reported them. */
  | { kind: "read"; maxmemory: number; policy: string }
  /** INFO refused (an ACL user without `info`, a managed service that renames it) or unreadable. */
  | { kind: "unchecked"; reason: string };

/** What to change when Redis evicts (no final period). */
export const MEMORY_POLICY_FIX = "set maxmemory-policy noeviction (on a managed service such as " +
  "ElastiCache or Memorystore: in its parameter group or configuration, whose defaults evict)";

/** INFO memory's answer (`name:value` lines) read for the two values the rule needs. */
export function parseMemoryInfo(info: string): MemoryPolicy {
  const values = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) values.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const maxmemory = Number(values.get("maxmemory") ?? "");
  const policy = values.get("maxmemory_policy");
  if (policy === undefined || policy === "" || !Number.isSafeInteger(maxmemory) || maxmemory < 0) {
    return { kind: "unchecked", reason: "INFO memory gave no maxmemory and maxmemory_policy" };
  }
  return { kind: "read", maxmemory, policy };
}

/**
 * The rule: with a memory limit, only `noeviction` keeps the store's keys. Without one
 * (maxmemory 0) Redis evicts nothing whatever the policy. Returns what is wrong (no final
 * period), or undefined.
 */
export function memoryPolicyProblem(found: MemoryPolicy): string | undefined {
  if (found.kind !== "read" || found.maxmemory === 0 || found.policy === "noeviction") {
    return undefined;
  }
  return `Redis evicts keys when its memory fills (maxmemory-policy ${found.policy}, maxmemory ` +
    `${found.maxmemory} bytes): sessions and their indexes would vanish unannounced, and a ` +
    "logout or revoke would miss sessions that are still admitted";
}

/** Why the policy was not checked (no final period), for the start's warning and the probe. */
export function uncheckedPolicyNote(found: MemoryPolicy & { kind: "unchecked" }): string {
  return `Redis's maxmemory-policy could not be checked (${found.reason}); the store needs ` +
    "noeviction whenever maxmemory is set";
}

/**
 * Asks Redis (INFO memory). A refusal of INFO is `unchecked`, not a failure: a least-privilege
 * ACL user often lacks it (INFO is in @dangerous). Redis not answering fails as usual.
 */
export async function readMemoryPolicy(client: Redis): Promise<MemoryPolicy> {
  let info: string;
  try {
    info = await client.info("memory");
  } catch (error) {
    const failure = classifyRedisError(error);
    if (failure instanceof StoreUnavailableError) throw failure;
    return { kind: "unchecked", reason: error instanceof Error ? error.message : String(error) };
  }
  return parseMemoryInfo(info);
}

/**
 * The start's check: refuses a Redis that evicts, warns when it could not tell. `where`: the URL
 * without credentials.
 */
export async function checkMemoryPolicy(client: Redis, where: string): Promise<void> {
  const found = await readMemoryPolicy(client);
  const problem = memoryPolicyProblem(found);
  if (problem !== undefined) {
    throw new Error(`Session store refused: ${where}: ${problem}; ${MEMORY_POLICY_FIX}`);
  }
  if (found.kind === "unchecked") {
    log.warning("Session store {where}: {note}", { where, note: uncheckedPolicyNote(found) });
  }
}
