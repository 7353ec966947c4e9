/**
 * Heap in use after a full garbage collection. `gc` is exposed at run time through node:v8 and
 * node:vm (works on Deno without `--v8-flags`); without it the figure includes garbage.
 */
export async function settledHeap(): Promise<number> {
  const { default: v8 } = await import("node:v8");
  const { default: vm } = await import("node:vm");
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    gc();
    gc();
  } catch {
    // no forced GC on this runtime: the bounds below are generous enough
  }
  const { default: process } = await import("node:process");
  return process.memoryUsage().heapUsed;
}
