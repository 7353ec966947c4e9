/**
 * The ENV of one `>CLIENT:` block, kept as the text OpenVPN sent and read by name on demand.
 *
 * Why not a Map: a 2.6 block carries about 55 ENV lines and the bridge reads six of them.
 * Slicing every name and value out and hashing them into a Map per block was the largest
 * single cost of answering a REAUTH (more than the runtime's whole cost of the exchange), most
 * of it garbage. Here a block costs one string, usually a single slice of the chunk it came in.
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
  readonly size: number;

  /** `size`: how many distinct names the lines hold (`EnvNames` counts them). */
  constructor(text: string, size: number) {
    this.#text = text;
    this.size = size;
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

  has(name: string): boolean {
    return valueAt(this.#text, name) !== -1;
  }
}

/**
 * Where the value of the first line named `name` starts in `text` (ENV lines, each ended by a
 * line end), or -1. A match must be a whole name at the start of a line: a value that holds
 * `>CLIENT:ENV,name=` cannot pose as a line, since no line end comes before it.
 */
export function valueAt(text: string, name: string): number {
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

/**
 * Remembers the names of one block's ENV lines to find a name sent twice, without slicing
 * names out: a hash of each name's characters goes into a table reused from block to block (a
 * stamp per slot tells this block's entries from older ones). A hash seen before is only a
 * suspect: the caller confirms it against the block's text (`valueAt`).
 */
export class EnvNames {
  readonly #mask: number;
  readonly #hashes: Int32Array;
  readonly #stamps: Uint32Array;
  #stamp = 1;
  #count = 0;

  /** `maxLines`: the most lines one block may hold (the table stays at most half full). */
  constructor(maxLines: number) {
    let slots = 16;
    while (slots < maxLines * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#hashes = new Int32Array(slots);
    this.#stamps = new Uint32Array(slots);
  }

  /** Starts a new block: every name seen before is forgotten. */
  begin(): void {
    this.#count = 0;
    if (++this.#stamp === 0xffff_ffff) {
      this.#stamps.fill(0);
      this.#stamp = 1;
    }
  }

  /**
   * Records the name `text.slice(start, end)`; true when a name alike was seen in this block
   * (the same name, or one of the same length that agrees where this looks).
   */
  seen(text: string, start: number, end: number): boolean {
    // Length and five characters, not all of them: reading every character of every name
    // cost more than the rest of the block. Names alike there are told apart by the caller.
    const last = end - 1;
    const length = end - start;
    let hash = Math.imul(length, 0x9e3779b1);
    hash = Math.imul(hash ^ text.charCodeAt(start), 0x85ebca6b);
    hash = Math.imul(hash ^ text.charCodeAt(last), 0xc2b2ae35);
    hash = Math.imul(hash ^ text.charCodeAt(start + (length >> 1)), 0x27d4eb2f);
    if (length > 4) {
      hash = Math.imul(hash ^ text.charCodeAt(last - 1), 0x165667b1);
      hash = Math.imul(hash ^ text.charCodeAt(last - 3), 0x9e3779b1);
    }
    hash ^= hash >>> 15;
    let slot = hash & this.#mask;
    while (this.#stamps[slot] === this.#stamp) {
      if (this.#hashes[slot] === hash) return true;
      slot = (slot + 1) & this.#mask;
    }
    if (this.#count * 2 >= this.#mask) return true; // full: let the caller check exactly
    this.#stamps[slot] = this.#stamp;
    this.#hashes[slot] = hash;
    this.#count++;
    return false;
  }
}
