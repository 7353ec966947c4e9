/**
 * The control handler's answers at their edges: a store with nothing to list answers an empty
 * list (not an error or a cut answer), and a sign-in stamped ahead of this instance's clock (by
 * another cluster instance) shows age 0, not a negative one.
 */
import { assertEquals } from "../../support/assert.ts";
import { handleControlRequest } from "../../../src/control/handler.ts";
import { answerPieces } from "../../../src/control/protocol.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { pendingLogin, T0 } from "../sessions/fixtures.ts";

const noRevocation = { revoke: () => Promise.reject(new Error("unused")) };

async function line(command: "sessions.list" | "logins.list", store: MemoryStore) {
  const answer = await handleControlRequest({ command }, {
    store,
    revocation: noRevocation,
    now: () => T0,
  });
  return (await Array.fromAsync(answerPieces(answer))).join("");
}

Deno.test("handleControlRequest(): lists of a store with no pages answer empty lists", async () => {
  async function* none(): AsyncGenerator<never[]> {}
  const store = { sessionPages: none, pendingPages: none } as unknown as MemoryStore;
  assertEquals(await line("sessions.list", store), '{"ok":true,"sessions":[]}\n');
  assertEquals(await line("logins.list", store), '{"ok":true,"logins":[]}\n');
});

Deno.test("handleControlRequest(): lists of an empty store answer empty lists", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  try {
    assertEquals(await line("sessions.list", store), '{"ok":true,"sessions":[]}\n');
    assertEquals(await line("logins.list", store), '{"ok":true,"logins":[]}\n');
  } finally {
    await store.close();
  }
});

Deno.test("handleControlRequest(): a sign-in created after this instance's now is 0 s old", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  try {
    await store.putPending(pendingLogin({ createdAt: T0 + 5_000 }));
    const answer = JSON.parse(await line("logins.list", store));
    assertEquals(answer.logins.map((row: { ageSec: number }) => row.ageSec), [0]);
  } finally {
    await store.close();
  }
});
