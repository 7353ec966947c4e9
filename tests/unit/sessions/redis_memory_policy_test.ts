import { assertEquals } from "../../support/assert.ts";
import { parseRedisInfo } from "../../../src/sessions/redis_info.ts";
import { memoryPolicy, memoryPolicyProblem } from "../../../src/sessions/redis_memory_policy.ts";

/** INFO memory as redis-server 7.0 answers it, cut to the lines around the two read. */
function info(maxmemory: string, policy: string): string {
  return `# Memory\r\nused_memory:989552\r\nmaxmemory:${maxmemory}\r\nmaxmemory_human:0B\r\n` +
    `maxmemory_policy:${policy}\r\nallocator_frag_ratio:1.00\r\n`;
}

Deno.test("memoryPolicy() reads maxmemory and maxmemory_policy", () => {
  assertEquals(memoryPolicy(parseRedisInfo(info("1048576", "volatile-lru"))), {
    kind: "read",
    maxmemory: 1048576,
    policy: "volatile-lru",
  });
});

Deno.test("memoryPolicy() without the two values is unchecked, not taken for safe", () => {
  assertEquals(memoryPolicy(parseRedisInfo("# Memory\r\nused_memory:1\r\n")).kind, "unchecked");
  assertEquals(memoryPolicy(parseRedisInfo(info("lots", "noeviction"))).kind, "unchecked");
  assertEquals(memoryPolicy({ kind: "unchecked", reason: "NOPERM" }), {
    kind: "unchecked",
    reason: "NOPERM",
  });
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
