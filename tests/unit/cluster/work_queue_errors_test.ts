/**
 * A Redis error once a command may have been queued: the requester cannot tell whether the
 * holder will carry it out, so the command is unconfirmed (outcomeUnknown), never a failure
 * that lets a sign-in's session be deleted while OpenVPN admits the client.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { CommandUndeliveredError, outcomeUnknown } from "../../../src/bridge/commander.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";

const OP = { op: "auth" as const, cid: 5, kid: 1, lines: [] };

Deno.test("an enqueue whose reply is lost (a timeout of ours) is unconfirmed, not a store failure", async () => {
  const redis = {
    eval: () => Promise.reject(new Error("Command timed out")),
    get: () => Promise.resolve(null),
  };
  const queue = new WorkQueue(redis as never, new ClusterKeys("t:"), new FakeClock());
  const error = await assertRejects(() => queue.submit("udp", OP, 3_000), CommandUndeliveredError);
  assert(outcomeUnknown(error));
});

Deno.test("a read of the outcome that fails (Redis restarting) is tried again, and the outcome still arrives", async () => {
  const clock = new FakeClock();
  let reads = 0;
  const redis = {
    eval: () => Promise.resolve(1),
    get: () => {
      reads++;
      return reads < 3 ? Promise.reject(new Error("Connection is closed.")) : Promise.resolve("ok");
    },
  };
  const queue = new WorkQueue(redis as never, new ClusterKeys("t:"), clock);
  const submitted = queue.submit("udp", OP, 3_000);
  for (let i = 0; i < 10 && reads < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    clock.advance(50);
  }
  assertEquals(await submitted, { kind: "ok" });
  assertEquals(reads, 3);
});
