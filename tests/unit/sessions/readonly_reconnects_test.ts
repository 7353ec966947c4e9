/**
 * The throttle on reconnects at READONLY (readOnlyReconnects), on a clock the test moves. The
 * real demoted node, and an address a failover moves, are in
 * tests/integration/bridge/redis_readonly_test.ts.
 */
import { ReplyError } from "ioredis";
import { assertEquals } from "../../support/assert.ts";
import { readOnlyReconnects } from "../../../src/sessions/redis_connection.ts";

const READONLY = new ReplyError("READONLY You can't write against a read only replica.");
const OOM = new ReplyError("OOM command not allowed when used memory > 'maxmemory'.");

Deno.test("readOnlyReconnects() reconnects at the first READONLY, then at most once per interval", () => {
  let now = 5_000;
  const reconnect = readOnlyReconnects(1_000, () => now);
  assertEquals(reconnect(READONLY), true, "the first: a failover may have moved the address");
  assertEquals(reconnect(READONLY), false, "the same moment: the reconnect is under way");
  now += 999;
  assertEquals(reconnect(READONLY), false, "within the interval: a refused write, no reconnect");
  now += 1;
  assertEquals(reconnect(READONLY), true, "an interval after the last reconnect");
  now += 500;
  assertEquals(reconnect(READONLY), false, "counted from the last reconnect, not the first");
  now += 10_000;
  assertEquals(reconnect(OOM), false, "no other reply reconnects");
  assertEquals(reconnect(READONLY), true, "nor takes a reconnect's turn");
});
