/**
 * Logs an info line (which waits for the end of its turn, src/log.ts), then ends the way its
 * argument says, in that same turn: `exit` (process.exit), `throw` (an uncaught error) or
 * `reject` (an unhandled rejection).
 *
 *   deno run -A tests/support/log_exit_child.ts exit|throw|reject
 */
import process from "node:process";
import { configureLogging, getLogger } from "../../src/log.ts";

configureLogging("info", "text");
setTimeout(() => {
  getLogger("test").info("last words {marker}", { marker: "m-4711" });
  const how = process.argv[2];
  if (how === "exit") process.exit(3);
  if (how === "throw") throw new Error("uncaught on purpose");
  if (how === "reject") void Promise.reject(new Error("unhandled on purpose"));
}, 0);
