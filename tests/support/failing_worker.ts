/**
 * A worker whose module fails as it loads: a worker that cannot start. With `?starts=PATH` in
 * its URL it first appends a line to PATH, so a test can count how often one was started.
 */
import { appendFileSync } from "node:fs";

const starts = new URL(import.meta.url).searchParams.get("starts");
if (starts) appendFileSync(starts, "started\n");
throw new Error("this worker fails as it loads");
