/** Writes SIZE bytes of "x" and a newline to stdout with writeAllSync, then exits at once. */
import process from "node:process";
import { writeAllSync } from "../../src/write_all_sync.ts";

const size = Number(process.argv[2] ?? process.argv[1]);
writeAllSync(1, "x".repeat(size) + "\n");
process.exit(0);
