/**
 * Logs one info line with the value its second argument gives, in the format its first names
 * (src/log.ts), and exits: so a test sees what the runtime's own inspect and JSON formatter make
 * of it (tests/unit/log_test.ts runs it under Deno and Bun).
 *
 *   deno run -A tests/unit/_log_escape_child.ts text|json <value>
 *   bun tests/unit/_log_escape_child.ts text|json <value>
 */
import process from "node:process";
import { configureLogging, flushLogs, getLogger } from "../../src/log.ts";

configureLogging("info", process.argv[2] === "json" ? "json" : "text");
getLogger("test").info("Login of {user}", { user: process.argv[3] ?? "" });
flushLogs();
