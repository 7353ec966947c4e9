import { assert, assertEquals, assertRejects, assertThrows } from "../../support/assert.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import {
  type GateLane,
  idpRequestLimits,
  MIN_OPEN_REQUESTS,
  RequestGate,
} from "../../../src/oidc/request_gate.ts";

/** Tasks that finish only when the test says so, in the order they started. */
function heldTasks() {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const task = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      release.set(name, () => resolve(name));
    });
  const finish = async (name: string) => {
    release.get(name)!();
    // The slot is given on in the task's settlement: let it run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { started, task, finish };
}

const limits = {
  limit: 3,
  backgroundLimit: 1,
  maxQueuedBackground: 2,
  maxBackgroundWaitMs: 60_000,
};

Deno.test("RequestGate: at most `limit` tasks run at once; the others start in order as slots free", async () => {
  const gate = new RequestGate(limits);
  const { started, task, finish } = heldTasks();
  const done = ["a", "b", "c", "d", "e"].map((name) => gate.run("waited", task(name)));
  assertEquals(started, ["a", "b", "c"]);
  assertEquals(gate.stats, { open: 3, openBackground: 0, waited: 2, background: 0 });
  await finish("b");
  assertEquals(started, ["a", "b", "c", "d"]);
  await finish("a");
  await finish("c");
  await finish("d");
  await finish("e");
  assertEquals(await Promise.all(done), ["a", "b", "c", "d", "e"]);
  assertEquals(gate.stats, { open: 0, openBackground: 0, waited: 0, background: 0 });
});

Deno.test("RequestGate: background tasks hold at most their share and start only when no waited task queues", async () => {
  const gate = new RequestGate(limits);
  const { started, task, finish } = heldTasks();
  const run = (lane: GateLane, name: string) => gate.run(lane, task(name));
  const background = [run("background", "r1"), run("background", "r2")];
  // One background slot of three: the second revocation waits though two slots are free.
  assertEquals(started, ["r1"]);
  const waited = [run("waited", "w1"), run("waited", "w2"), run("waited", "w3")];
  assertEquals(started, ["r1", "w1", "w2"]);
  // r1's slot goes to the waiting w3, not to r2, which came first.
  await finish("r1");
  assertEquals(started, ["r1", "w1", "w2", "w3"]);
  await finish("w1");
  assertEquals(started, ["r1", "w1", "w2", "w3", "r2"]);
  for (const name of ["w2", "w3", "r2"]) await finish(name);
  assertEquals(await Promise.all([...background, ...waited]), ["r1", "r2", "w1", "w2", "w3"]);
});

Deno.test("RequestGate: a waited task whose deadline passes in the queue fails as the IdP unreachable and takes no slot", async () => {
  const gate = new RequestGate({ ...limits, limit: 1 });
  const { started, task, finish } = heldTasks();
  const first = gate.run("waited", task("first"));
  const deadline = new AbortController();
  const late = gate.run("waited", task("late"), deadline.signal, () => "token request");
  const next = gate.run("waited", task("next"));
  deadline.abort();
  const error = await assertRejects(() => late, IdpUnreachableError);
  assertEquals(
    error.message,
    "token request (waited for one of 1 slots; 1 requests open at the IdP)",
  );
  assertEquals(gate.stats.waited, 1);
  await finish("first");
  assertEquals(started, ["first", "next"]);
  await finish("next");
  assertEquals(await Promise.all([first, next]), ["first", "next"]);

  const aborted = new AbortController();
  aborted.abort();
  const blocker = gate.run("waited", task("blocker"));
  await assertRejects(() => gate.run("waited", task("never"), aborted.signal), IdpUnreachableError);
  await finish("blocker");
  await blocker;
  assertEquals(started, ["first", "next", "blocker"]);
});

Deno.test("RequestGate: background tasks beyond the queue's bound are refused at once", async () => {
  const gate = new RequestGate(limits);
  const { task, finish } = heldTasks();
  const kept = ["r1", "r2", "r3"].map((name) => gate.run("background", task(name)));
  const error = await assertRejects(
    () => gate.run("background", task("r4")),
    IdpUnreachableError,
  );
  assert(error.message.includes("2 background requests already wait"), error.message);
  for (const name of ["r1", "r2", "r3"]) await finish(name);
  assertEquals(await Promise.all(kept), ["r1", "r2", "r3"]);
});

Deno.test("RequestGate: a task that fails frees its slot", async () => {
  const gate = new RequestGate({ ...limits, limit: 1 });
  const failing = gate.run("waited", () => Promise.reject(new Error("boom")));
  const after = gate.run("waited", () => Promise.resolve("after"));
  await assertRejects(() => failing, Error, "boom");
  assertEquals(await after, "after");
  assertEquals(gate.stats.open, 0);
});

Deno.test("RequestGate: limits must be whole numbers from 1, the background share within the limit", () => {
  assertThrows(() => new RequestGate({ ...limits, limit: 0 }), RangeError, "limit: 0");
  assertThrows(() => new RequestGate({ ...limits, backgroundLimit: 1.5 }), RangeError);
  assertThrows(() => new RequestGate({ ...limits, maxQueuedBackground: NaN }), RangeError);
  assertThrows(() => new RequestGate({ ...limits, backgroundLimit: 4 }), RangeError, "exceeds");
});

Deno.test("RequestGate: a long queue keeps its order as it is worked off and compacted", async () => {
  const gate = new RequestGate({ ...limits, limit: 2, maxQueuedBackground: 5_000 });
  const started: number[] = [];
  const all = Array.from(
    { length: 3_000 },
    (_, i) =>
      gate.run(i % 3 === 0 ? "background" : "waited", () => {
        started.push(i);
        return Promise.resolve(i);
      }),
  );
  await Promise.all(all);
  assertEquals(started.length, 3_000);
  // Waited tasks in their order, background ones in theirs.
  const waited = started.filter((i) => i % 3 !== 0);
  const background = started.filter((i) => i % 3 === 0);
  assertEquals(waited, [...waited].sort((a, b) => a - b));
  assertEquals(background, [...background].sort((a, b) => a - b));
  assertEquals(gate.stats, { open: 0, openBackground: 0, waited: 0, background: 0 });
});

Deno.test("idpRequestLimits(): revocations take at most 4 slots and always leave one to the rest", () => {
  assertEquals(idpRequestLimits(32), {
    limit: 32,
    backgroundLimit: 4,
    maxQueuedBackground: 100_000,
    maxBackgroundWaitMs: 60_000,
  });
  assertEquals(idpRequestLimits(4).backgroundLimit, 3);
  assertEquals(idpRequestLimits(MIN_OPEN_REQUESTS), {
    limit: 2,
    backgroundLimit: 1,
    maxQueuedBackground: 100_000,
    maxBackgroundWaitMs: 60_000,
  });
  assertThrows(() => idpRequestLimits(1), RangeError, "at least 2");
});

Deno.test("RequestGate: a background task that waited longer than maxBackgroundWaitMs is dropped when its turn comes", async () => {
  let now = 0;
  const gate = new RequestGate({ ...limits, maxQueuedBackground: 10 }, () => now);
  const { started, task, finish } = heldTasks();
  const first = gate.run("background", task("r1"));
  const late = gate.run("background", task("r2"));
  now = 30_000;
  const inTime = gate.run("background", task("r3"));
  now = 60_001;
  await finish("r1");
  const error = await assertRejects(() => late, IdpUnreachableError);
  assertEquals(
    error.message,
    "IdP request not sent: no slot of 1 for background requests freed within 60000 ms",
  );
  // r3 waited 30,001 ms: it goes.
  assertEquals(started, ["r1", "r3"]);
  await finish("r3");
  assertEquals(await Promise.all([first, inTime]), ["r1", "r3"]);
  assertEquals(gate.stats, { open: 0, openBackground: 0, waited: 0, background: 0 });
});

Deno.test("RequestGate: close() refuses what waits and what comes later; what runs finishes and starts nothing", async () => {
  const gate = new RequestGate(limits);
  const { started, task, finish } = heldTasks();
  const running = [gate.run("waited", task("w1")), gate.run("background", task("r1"))];
  const third = gate.run("waited", task("w2"));
  const queued = [gate.run("waited", task("w3")), gate.run("background", task("r2"))];
  assertEquals(started, ["w1", "r1", "w2"]);
  gate.close();
  for (const request of queued) {
    const error = await assertRejects(() => request, IdpUnreachableError);
    assertEquals(error.message, "IdP request not sent: the bridge is stopping");
  }
  await assertRejects(() => gate.run("waited", task("w4")), IdpUnreachableError, "stopping");
  await finish("w1");
  await finish("r1");
  await finish("w2");
  assertEquals(await Promise.all([...running, third]), ["w1", "r1", "w2"]);
  assertEquals(started, ["w1", "r1", "w2"], "nothing started after close()");
  assertEquals(gate.stats, { open: 0, openBackground: 0, waited: 0, background: 0 });
});

Deno.test("RequestGate: a waited request refused by close() is not refused again when its deadline passes", async () => {
  const gate = new RequestGate({ ...limits, limit: 1, backgroundLimit: 1 });
  const { task, finish } = heldTasks();
  const first = gate.run("waited", task("w1"));
  const deadline = new AbortController();
  const second = gate.run("waited", task("w2"), deadline.signal, () => "deadline");
  gate.close();
  await assertRejects(() => second, IdpUnreachableError, "stopping");
  deadline.abort();
  await finish("w1");
  assertEquals(await first, "w1");
  assertEquals(gate.stats, { open: 0, openBackground: 0, waited: 0, background: 0 });
});
