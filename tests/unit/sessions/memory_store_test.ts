import { assertThrows } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { registerStoreContract } from "./contract.ts";

registerStoreContract("MemoryStore", (options) => {
  const store = new MemoryStore(options);
  return Promise.resolve({ store, cleanup: () => store.close() });
});

Deno.test("MemoryStore refuses a size bound that is not a positive integer", () => {
  for (const maxEntries of [0, -1, 1.5, NaN]) {
    assertThrows(() => new MemoryStore({ maxEntries }), Error, /Invalid session store size bound/);
  }
});
