/**
 * Full garbage collections on demand, for the tests and the bench that measure memory or must
 * not have a collection land in a measured run: `Bun.gc` on Bun; on Deno `gc`, exposed at run
 * time through node:v8 and node:vm, so no `--v8-flags=--expose-gc` is needed.
 */
import v8 from "node:v8";
import vm from "node:vm";
import process from "node:process";

/** A full collection, or undefined on a runtime that cannot be asked for one. */
export function forcedGc(): (() => void) | undefined {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

/** Heap in use after a full collection; without one the figure includes garbage. */
export function settledHeap(): Promise<number> {
  const gc = forcedGc();
  gc?.();
  gc?.();
  return Promise.resolve(process.memoryUsage().heapUsed);
}
