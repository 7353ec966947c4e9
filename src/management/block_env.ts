/**
 * The ENV of one `>CLIENT:` block, kept as the text OpenVPN sent and read by name on demand.
 *
 * Why not a Map: a 2.6 block carries about 55 ENV lines and the bridge reads six of them.
 * Slicing every name and value out and hashing them into a Map per block was the largest
 * single cost of answering a REAUTH (more than the runtime's whole cost of the exchange), most
 * of it garbage. Here a block costs no string at all when it came in one chunk (it reads that
 * chunk in place), and one when it did not.
 *
 * A name sent twice reads as its first value, as it did from the Map. It is not looked for
 * line by line: OpenVPN keeps a client's ENV as a set (a name set again replaces the old
 * value), so a repeat never comes from OpenVPN, and checking every name of every block for
 * one cost about a tenth of a REAUTH.
 */
import type { ClientEnv } from "./events.ts";

/** Every ENV line starts with this; the name follows it. */
export const ENV_PREFIX = ">CLIENT:ENV,";
const NAME_AT = ENV_PREFIX.length;
const EQUALS = 61;
const NEWLINE = 10;
const CR = 13;

export class BlockEnv implements ClientEnv {
  /** Holds the ENV lines as sent, each ended by `\n` (or `\r\n`), from `#start` to `#end`. */
  readonly #text: string;
  readonly #start: number;
  readonly #end: number;

  /**
   * The ENV lines are `text.slice(start, end)`, but read in place: a block that came in one
   * chunk is a window on that chunk. On Bun the first read of a slice cost about 10 µs in a
   * REAUTH storm (1-25 µs per block; little once a collection had run), the largest single
   * cost of a REAUTH there (bench/README.md). A window keeps the same chunk alive as a slice.
   */
  constructor(text: string, start = 0, end = text.length) {
    this.#text = text;
    this.#start = start;
    this.#end = end;
  }

  get(name: string): string | undefined {
    const text = this.#text;
    const at = valueAt(text, this.#start, this.#end, name);
    if (at === -1) return undefined;
    let end = text.indexOf("\n", at);
    if (end === -1 || end > this.#end) end = this.#end;
    if (end > at && text.charCodeAt(end - 1) === CR) end--;
    return text.slice(at, end);
  }
}

/**
 * Where the value of the first line named `name` starts in `text` between `start` and `end`
 * (ENV lines, each ended by a line end), or -1. A match must be a whole name at the start of a
 * line: a value that holds `>CLIENT:ENV,name=` cannot pose as a line, since no line end comes
 * before it. What lies outside the window (other blocks of the chunk) is never a match.
 */
function valueAt(text: string, start: number, end: number, name: string): number {
  // A name never holds "=" (the line is split at its first one).
  if (name === "" || name.includes("=")) return -1;
  const last = end - name.length - 1;
  for (let at = text.indexOf(name, start + NAME_AT); at !== -1; at = text.indexOf(name, at + 1)) {
    if (at > last) return -1;
    const lineStart = at - NAME_AT;
    if (
      text.charCodeAt(at + name.length) === EQUALS &&
      (lineStart === start || text.charCodeAt(lineStart - 1) === NEWLINE) &&
      text.startsWith(ENV_PREFIX, lineStart)
    ) {
      return at + name.length + 1;
    }
  }
  return -1;
}
