import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { testClientEvents } from "../../support/client_events_fixture.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";
import { pendingLogin } from "../sessions/fixtures.ts";
import { captureLogs } from "../../support/log_capture.ts";

Deno.test("a new link holder takes over the deadlines of its server's sign-ins in progress", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  // Started by the previous holder: two on this server (in any order), one on another.
  await store.putPending(
    pendingLogin({
      id: "late",
      server: "default",
      cid: 2,
      kid: 1,
      createdAt: t,
      expiresAt: t + 50_000,
    }),
  );
  await store.putPending(
    pendingLogin({
      id: "soon",
      server: "default",
      cid: 1,
      kid: 1,
      createdAt: t,
      expiresAt: t + 10_000,
    }),
  );
  await store.putPending(
    pendingLogin({
      id: "other",
      server: "tcp",
      cid: 1,
      kid: 1,
      createdAt: t,
      expiresAt: t + 10_000,
    }),
  );
  const { events, commander } = testClientEvents({ store, clock });
  assertEquals(await events.adoptPendingLogins(), 2);

  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands, [
    {
      kind: "deny",
      cid: 1,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    },
  ]);
  // A sign-in the browser finished meanwhile (taken by a callback) is not denied.
  await store.takePending("late");
  clock.advance(40_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.length, 1, "nothing for the login a callback took");
  events.close();
});

Deno.test("a new holder adopting two sign-ins on one cid (OpenVPN restarted in between) ends the earlier", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  for (const [id, expiresAt] of [["before-restart", t + 10_000], ["after-restart", t + 40_000]]) {
    await store.putPending(
      pendingLogin({
        id: id as string,
        server: "default",
        cid: 0,
        kid: 1,
        createdAt: t,
        expiresAt: expiresAt as number,
      }),
    );
  }
  const { events, commander } = testClientEvents({ store, clock });
  assertEquals(await events.adoptPendingLogins(), 2);
  // The earlier one can no longer be finished (its client-auth would reach the new client)...
  assertEquals(await store.getPending("before-restart"), undefined);
  assertEquals((await store.getPending("after-restart"))?.cid, 0);
  // ...and its deadline denies nobody; the new client's own deadline still holds.
  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.length, 0);
  clock.advance(30_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.map((c) => c.kind), ["deny"]);
  events.close();
});

Deno.test("a store that cannot list the sign-ins in progress is a warning: adopting resolves 0 and tracks none", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  const first = pendingLogin({ server: "default", cid: 1, createdAt: t, expiresAt: t + 10_000 });
  await store.putPending(first);
  // The first page comes, the second does not.
  store.pendingPages = async function* () {
    yield [first];
    throw new Error("store down");
  };
  const { events, commander } = testClientEvents({ store, clock });
  const logs = captureLogs();
  try {
    assertEquals(await events.adoptPendingLogins(), 0);
  } finally {
    logs.stop();
  }
  assertEquals(
    logs.lines.filter((line) => line.level === "warning").map((line) => line.text),
    ["Could not read the sign-ins in progress on default: Error: store down"],
  );
  // Nothing was taken over: the first page's login is left to its own deadline elsewhere.
  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands, []);
  assertEquals((await store.getPending(first.id))?.cid, 1);
  events.close();
});
