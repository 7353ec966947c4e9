/**
 * A worker whose module fails as it loads: a worker that cannot start. With `?starts=PATH` in
 * its URL it first appends a line to PATH, so a test can count how often one was started.
 * JavaScript, not TypeScript: `deno test` type-checks a TypeScript worker as it starts, and each
 * `?starts=` is a module of its own, checked again (8 s on a loaded machine).
 */
import { appendFileSync } from "node:fs";

const starts = new URL(import.meta.url).searchParams.get("starts");
if (starts) appendFileSync(starts, "started\n");
throw new Error("this worker fails as it loads");
