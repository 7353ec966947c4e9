/**
 * Logs an info line (which waits for the end of its turn, src/log.ts), then ends the way its
 * argument says, in that same turn: `exit` (process.exit), `throw` (an uncaught error) or
 * `reject` (an unhandled rejection). `flood` first logs 3,000 lines over 30 turns (about 300 KB,
 * more than a pipe holds), then the last words, then exits as `exit` does.
 *
 *   deno run -A tests/support/log_exit_child.ts exit|throw|reject|flood
 */
import process from "node:process";
import { configureLogging, getLogger } from "../../src/log.ts";

configureLogging("info", "text");
const how = process.argv[2];
const FLOOD_TURNS = 30;
const FLOOD_LINES_PER_TURN = 100;

function flood(turn: number): void {
  for (let line = 0; line < FLOOD_LINES_PER_TURN; line++) {
    getLogger("test").info("flood {n} {padding}", {
      n: turn * FLOOD_LINES_PER_TURN + line,
      padding: "x".repeat(60),
    });
  }
  setTimeout(turn + 1 < FLOOD_TURNS ? () => flood(turn + 1) : end, 0);
}

function end(): void {
  getLogger("test").info("last words {marker}", { marker: "m-4711" });
  if (how === "exit" || how === "flood") process.exit(3);
  if (how === "throw") throw new Error("uncaught on purpose");
  if (how === "reject") void Promise.reject(new Error("unhandled on purpose"));
}

setTimeout(how === "flood" ? () => flood(0) : end, 0);
