/**
 * Writes all of a text to a file descriptor before returning. The CLI's output goes to stdout
 * this way because the process exits right after (main.ts): Bun's `process.stdout.write` to a
 * pipe hands the kernel what the pipe takes at once (64 KiB) and drops the rest at
 * `process.exit`, so `sessions list --json | jq` read a cut list, with exit code 0.
 */
import { writeSync } from "node:fs";

const encoder = new TextEncoder();
/** For a short synchronous wait when a non-blocking pipe is full. */
const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeAllSync(fd: number, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // The reader has gone (`| head`): nothing more to write, as a shell tool would stop.
      if (code === "EPIPE") return;
      // A pipe its other end made non-blocking is full: wait for the reader.
      if (code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      throw error;
    }
  }
}
