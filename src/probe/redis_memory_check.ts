/**
 * `check-config --probe`'s word on Redis's eviction policy, by the rule the store's start applies
 * (redis_memory_policy.ts): the start refuses a Redis that evicts, so the probe fails it too. Its
 * own file because the session store's other check texts live in local_checks.ts, which this
 * change leaves alone. Pure: local_probe.ts asks Redis.
 */
import {
  MEMORY_POLICY_FIX,
  type MemoryPolicy,
  memoryPolicyProblem,
  uncheckedPolicyNote,
} from "../sessions/redis_memory_policy.ts";
import { type CheckResult, fail, warn } from "./checks.ts";

/** `connected`: the store's check once connecting passed; `where`: the URL, no credentials. */
export function redisMemoryCheck(
  connected: CheckResult,
  where: string,
  found: MemoryPolicy,
): CheckResult {
  const problem = memoryPolicyProblem(found);
  if (problem !== undefined) {
    return fail(connected.check, `${where}: ${problem}`, `${sentence(MEMORY_POLICY_FIX)}.`);
  }
  if (found.kind === "unchecked") {
    return warn(
      connected.check,
      `${connected.detail}; ${uncheckedPolicyNote(found)}`,
      "Allow the ACL user `info`, or make sure by hand that Redis has maxmemory-policy " +
        "noeviction (or no maxmemory).",
    );
  }
  return connected;
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
