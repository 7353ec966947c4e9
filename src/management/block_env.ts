/**
 * The ENV of one `>CLIENT:` block, kept as the text OpenVPN sent and read by name on demand.
 *
 * Why not a Map: a 2.6 block carries about 55 ENV lines and the bridge reads six of them.
 * Slicing every name and value out and hashing them into a Map per block was the largest
 * single cost of answering a REAUTH (more than the runtime's whole cost of the exchange), most
 * of it garbage. Here a block costs one string, usually a single slice of the chunk it came in.
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
  /** Well-formed ENV lines as sent, each ended by `\n` (or `\r\n`). */
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  get(name: string): string | undefined {
    const text = this.#text;
    const at = valueAt(text, name);
    if (at === -1) return undefined;
    let end = text.indexOf("\n", at);
    if (end === -1) end = text.length;
    if (end > at && text.charCodeAt(end - 1) === CR) end--;
    return text.slice(at, end);
  }
}

/**
 * Where the value of the first line named `name` starts in `text` (ENV lines, each ended by a
 * line end), or -1. A match must be a whole name at the start of a line: a value that holds
 * `>CLIENT:ENV,name=` cannot pose as a line, since no line end comes before it.
 */
function valueAt(text: string, name: string): number {
  // A name never holds "=" (the line is split at its first one).
  if (name === "" || name.includes("=")) return -1;
  for (let at = text.indexOf(name, NAME_AT); at !== -1; at = text.indexOf(name, at + 1)) {
    const lineStart = at - NAME_AT;
    if (
      text.charCodeAt(at + name.length) === EQUALS &&
      (lineStart === 0 || text.charCodeAt(lineStart - 1) === NEWLINE) &&
      text.startsWith(ENV_PREFIX, lineStart)
    ) {
      return at + name.length + 1;
    }
  }
  return -1;
}
