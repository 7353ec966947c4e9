/**
 * A worker that never answers and, while it runs, appends a line to the file named by `?beats=`
 * every few milliseconds: a test sees whether it was ended. JavaScript, so that `deno test` does
 * not type-check it as it starts.
 */
import { appendFileSync } from "node:fs";

const beats = new URL(import.meta.url).searchParams.get("beats");
setInterval(() => appendFileSync(beats, "beat\n"), 5);
self.onmessage = () => {};
