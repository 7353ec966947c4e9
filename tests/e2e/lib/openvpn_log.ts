/** Reading an openvpn log file that the process appends to (`log-append`). */

import { pollUntil } from "./wait.ts";

export class LogFile {
  readonly path: string;
  /** Byte offset where the current process run started writing. */
  #runStart = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** Remembers the current end of the file: later reads and waits start there. */
  async markRunStart(): Promise<void> {
    this.#runStart = await fileSize(this.path);
  }

  /** The whole file (all runs), or "" when it does not exist yet. */
  async readAll(): Promise<string> {
    return await Deno.readTextFile(this.path).catch(() => "");
  }

  /** What the current run wrote so far. */
  async readCurrentRun(): Promise<string> {
    const bytes = await Deno.readFile(this.path).catch(() => new Uint8Array());
    return new TextDecoder().decode(bytes.subarray(this.#runStart));
  }

  /** Waits until the current run's log matches `pattern`; resolves with the match. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return await pollUntil(
      `${pattern} in ${this.path}`,
      async () => pattern.exec(await this.readCurrentRun()) ?? undefined,
      timeoutMs,
      100,
    );
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Waits until `path` exists and is a unix socket, failing early if `alive()` turns false. */
export async function waitForSocket(
  path: string,
  alive: () => boolean,
  timeoutMs: number,
): Promise<void> {
  await pollUntil(`management socket ${path}`, async () => {
    if (!alive()) throw new Error(`Process exited before creating ${path}`);
    try {
      return (await Deno.stat(path)).isSocket ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs);
}
