/**
 * Run by sqlite_owner_test.ts under Bun, as another process: tries to take the session file's
 * owner lock and prints whether it could, as JSON.
 *
 *   bun tests/unit/sessions/_owner_lock_child.ts PATH
 */
import process from "node:process";
import { lockSessionFile } from "../../../src/sessions/sqlite_owner.ts";

let result: { locked: boolean; message?: string };
try {
  lockSessionFile(process.argv[2] ?? "").release();
  result = { locked: true };
} catch (error) {
  result = { locked: false, message: (error as Error).message };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
