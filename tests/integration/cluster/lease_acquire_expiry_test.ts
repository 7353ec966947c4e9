/**
 * ACQUIRE writes the lease with its expiry in the same step. An instance that dies between
 * taking the lease and its first renewal must not hold the server forever: without the PX, no
 * standby would ever take over, and that server's sign-ins, revokes and kills would wait for
 * ever.
 */
import { ACQUIRE } from "../../../src/cluster/redis_scripts.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";
import { serverNameClaimKey } from "../../../src/cluster/server_name_claims.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { withRedisClient } from "../../support/redis_store_fixture.ts";

const PREFIX = "lease-expiry:";
const LEASE_MS = 3_000;

Deno.test("lease: a lease taken by ACQUIRE runs out after the lease time even if never renewed", () =>
  withRedisClient(PREFIX, async (redis) => {
    const keys = new ClusterKeys(PREFIX);
    // The arguments LeaseKeeper passes; the instance dies right after (no renewal).
    const token = await redis.eval(
      ACQUIRE,
      3,
      keys.lease("udp"),
      keys.fence("udp"),
      serverNameClaimKey(PREFIX, "udp"),
      "dies-at-once",
      String(LEASE_MS),
    );
    assertEquals(token, 1);
    assertEquals(await redis.get(keys.lease("udp")), "dies-at-once#1");
    const ttl = await redis.pttl(keys.lease("udp"));
    assert(ttl > 0 && ttl <= LEASE_MS, `the lease's PTTL is ${ttl} ms, not within ${LEASE_MS} ms`);
  }));
