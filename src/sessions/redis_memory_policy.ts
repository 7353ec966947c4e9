/**
 * Whether Redis may evict the store's keys: the rule the store's start and `check-config
 * --probe` both apply. Every key of the store carries a TTL (redis_scripts.ts), so under any
 * maxmemory-policy but `noeviction` (volatile-lru is ElastiCache's and Memorystore's default)
 * a Redis whose memory fills drops sessions, sign-ins, index sets and locks without a word: a
 * session whose index sets went is still admitted at its REAUTH while a back-channel logout or a
 * `sessions revoke --user` finds nothing to end. Under `noeviction` a full Redis refuses writes
 * with OOM instead, which the store reports as unavailable (fail closed).
 */
import { getLogger } from "../log.ts";
import type { RedisInfo } from "./redis_info.ts";

const log = getLogger("sessions");

/** What INFO told of eviction, or why it could not be asked. */
export type MemoryPolicy =
  /** maxmemory (0: no limit) and maxmemory-policy as Redis reported them. */
  | { kind: "read"; maxmemory: number; policy: string }
  /** INFO refused (redis_info.ts) or without the two values. */
  | { kind: "unchecked"; reason: string };

/** What to change when Redis evicts (no final period). */
export const MEMORY_POLICY_FIX = "set maxmemory-policy noeviction (on a managed service such as " +
  "ElastiCache or Memorystore: in its parameter group or configuration, whose defaults evict)";

/** The two values the rule needs, from INFO's answer. */
export function memoryPolicy(info: RedisInfo): MemoryPolicy {
  if (info.kind === "unchecked") return info;
  const maxmemory = Number(info.values.get("maxmemory") ?? "");
  const policy = info.values.get("maxmemory_policy");
  if (policy === undefined || policy === "" || !Number.isSafeInteger(maxmemory) || maxmemory < 0) {
    return { kind: "unchecked", reason: "INFO gave no maxmemory and maxmemory_policy" };
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
 * The start's check: refuses a Redis that evicts, warns when it could not tell. `where`: the URL
 * without credentials.
 */
export function checkMemoryPolicy(info: RedisInfo, where: string): void {
  const found = memoryPolicy(info);
  const problem = memoryPolicyProblem(found);
  if (problem !== undefined) {
    throw new Error(`Session store refused: ${where}: ${problem}; ${MEMORY_POLICY_FIX}`);
  }
  if (found.kind === "unchecked") {
    log.warning("Session store {where}: {note}", { where, note: uncheckedPolicyNote(found) });
  }
}
