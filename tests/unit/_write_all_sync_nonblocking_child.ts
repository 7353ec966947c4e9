/**
 * Makes stdout non-blocking as Bun's `process.stdout` does once touched, then writes SIZE bytes
 * of a counting pattern with writeAllSync and exits at once.
 */
import process from "node:process";
import { writeAllSync } from "../../src/write_all_sync.ts";

/** `size` characters counting 0 to 9 over and over: a chunk written twice or skipped shows. */
export function countingPattern(size: number): string {
  return "0123456789".repeat(Math.ceil(size / 10)).slice(0, size);
}

if (import.meta.main) {
  process.stdout.write("");
  writeAllSync(1, countingPattern(Number(process.argv[2] ?? process.argv[1])));
  process.exit(0);
}
