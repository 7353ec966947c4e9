import { assertEquals } from "../../support/assert.ts";
import { memoryPolicyProblem, parseMemoryInfo } from "../../../src/sessions/redis_memory_policy.ts";

/** INFO memory as redis-server 7.0 answers it, cut to the lines around the two read. */
function info(maxmemory: string, policy: string): string {
  return `# Memory\r\nused_memory:989552\r\nmaxmemory:${maxmemory}\r\nmaxmemory_human:0B\r\n` +
    `maxmemory_policy:${policy}\r\nallocator_frag_ratio:1.00\r\n`;
}

Deno.test("parseMemoryInfo() reads maxmemory and maxmemory_policy", () => {
  assertEquals(parseMemoryInfo(info("1048576", "volatile-lru")), {
    kind: "read",
    maxmemory: 1048576,
    policy: "volatile-lru",
  });
});

Deno.test("parseMemoryInfo() without the two values is unchecked, not taken for safe", () => {
  assertEquals(parseMemoryInfo("# Memory\r\nused_memory:1\r\n").kind, "unchecked");
  assertEquals(parseMemoryInfo(info("lots", "noeviction")).kind, "unchecked");
});

Deno.test("memoryPolicyProblem() refuses every evicting policy under a limit, and nothing else", () => {
  for (const policy of ["volatile-lru", "allkeys-lru", "volatile-ttl", "allkeys-random"]) {
    const problem = memoryPolicyProblem({ kind: "read", maxmemory: 100, policy });
    assertEquals(
      problem,
      `Redis evicts keys when its memory fills (maxmemory-policy ${policy}, maxmemory 100 ` +
        "bytes): sessions and their indexes would vanish unannounced, and a logout or revoke " +
        "would miss sessions that are still admitted",
    );
  }
  assertEquals(
    memoryPolicyProblem({ kind: "read", maxmemory: 100, policy: "noeviction" }),
    undefined,
  );
  assertEquals(
    memoryPolicyProblem({ kind: "read", maxmemory: 0, policy: "allkeys-lru" }),
    undefined,
  );
  assertEquals(memoryPolicyProblem({ kind: "unchecked", reason: "NOPERM" }), undefined);
});
