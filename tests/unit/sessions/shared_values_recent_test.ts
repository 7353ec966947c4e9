/**
 * A put compares its lists and nested claims with the few values shared last (shared_values.ts,
 * RECENT_VALUES) before it makes their JSON text. Those are few by design: a list of every value
 * ever shared would grow by one entry per put for as long as the process runs, and every put
 * would walk all of it.
 */
import { assert, assertStrictEquals } from "../../support/assert.ts";
import { SharedValues } from "../../../src/sessions/shared_values.ts";

/** `list`, with a count of how often its length is read (a comparison reads it). */
function counted(list: string[]): { value: string[]; lengthReads: () => number } {
  let reads = 0;
  const value = new Proxy(list, {
    get(target, key, receiver) {
      if (key === "length") reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { value, lengthReads: () => reads };
}

Deno.test("a put compares with a bounded number of recently shared values, however many were shared", () => {
  const values = new SharedValues();
  // Held here, so that none is collected and every one could still be compared with.
  const shared = Array.from({ length: 500 }, (_, i) => values.list([`group-${i}`]));
  const probe = counted(["group-new"]);
  const copy = values.list(probe.value);
  assertStrictEquals(copy[0], "group-new");
  // A few reads per recent value compared (33 in all when written), against 1,000 and more for
  // a comparison with every value shared so far.
  assert(probe.lengthReads() <= 100, `length read ${probe.lengthReads()} times`);
  // Values shared long ago are still found, by their JSON text.
  assertStrictEquals(values.list(["group-0"]), shared[0]);
});
