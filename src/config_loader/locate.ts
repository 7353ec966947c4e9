/**
 * smol-toml reports lines for syntax errors only, so for errors about a key we find the line
 * ourselves: the first `key =` under the key's `[section]` header (or the n-th
 * `[[client_config]]` block). Good enough to point a person at the right place.
 *
 * A check locates every key it reads and every key it reports, and a config can hold thousands
 * (20,000 unknown keys once took 87 s when each lookup split and read the whole source): the
 * source is split and indexed once, and a lookup reads the few lines its index names.
 */

/** A `[section]` or `[[section]]` header, with the section's name. */
const HEADER = /^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/;

/** The lines of one config source, indexed by section, `[[section]]` block and key. */
export class KeyLines {
  /** The source's lines, trimmed, as keyMatches reads them. */
  readonly #lines: string[];
  /** The first header line of each section, and of each of its `[[section]]` blocks. */
  readonly #headers = new Map<string, number>();
  /**
   * Key lines in file order, by section, block and keyHeads: for a key, a superset of the lines
   * that set it (find() tests each with keyMatches).
   */
  readonly #keys = new Map<string, number[]>();

  constructor(source: string) {
    this.#lines = source.split(/\r?\n/).map((line) => line.trim());
    // The `[[section]]` headers seen so far of each section, less one: the current block.
    const blocks = new Map<string, number>();
    let section = "";
    for (const [index, line] of this.#lines.entries()) {
      const header = HEADER.exec(line);
      if (header) {
        section = header[1]!;
        if (line.startsWith("[[")) blocks.set(section, (blocks.get(section) ?? -1) + 1);
        const block = blocks.get(section) ?? -1;
        for (const slot of [slotOf(section, undefined), slotOf(section, block)]) {
          if (!this.#headers.has(slot)) this.#headers.set(slot, index);
        }
        continue;
      }
      const block = blocks.get(section) ?? -1;
      for (const head of keyHeads(line)) {
        for (const slot of [slotOf(section, undefined, head), slotOf(section, block, head)]) {
          const lines = this.#keys.get(slot);
          if (lines === undefined) this.#keys.set(slot, [index]);
          else if (lines.at(-1) !== index) lines.push(index);
        }
      }
    }
  }

  /**
   * The 1-based line of `key` under the `[section]` header (in its `arrayIndex`-th
   * `[[section]]` block when given), or of that header itself when `key` is undefined.
   */
  find(section: string, key: string | undefined, arrayIndex?: number): number | undefined {
    if (key === undefined) {
      const index = this.#headers.get(slotOf(section, arrayIndex));
      return index === undefined ? undefined : index + 1;
    }
    let first: number | undefined;
    for (const head of headsOf(key)) {
      const match = this.#keys.get(slotOf(section, arrayIndex, head))?.find((index) =>
        keyMatches(this.#lines[index]!, key)
      );
      if (match !== undefined && (first === undefined || match < first)) first = match;
    }
    return first === undefined ? undefined : first + 1;
  }
}

/** Where a header or key line sits: a section, one of its blocks or any, and the key's head. */
function slotOf(section: string, block: number | undefined, head = ""): string {
  // Section names (HEADER) and blocks hold no line break: the head is all after the second.
  return `${section}\n${block ?? "any"}\n${head}`;
}

/**
 * The text before the first `=` of a line, from its start and, when it starts with a quote,
 * from after it; trailing whitespace dropped. A line sets a key `k` (keyMatches) only where
 * its text is `k`, then maybe a quote, whitespace and `=` (headsOf).
 */
function keyHeads(line: string): string[] {
  const starts = line.startsWith('"') || line.startsWith("'") ? [0, 1] : [0];
  return starts.flatMap((start) => {
    const equals = line.indexOf("=", start);
    return equals === -1 ? [] : [line.slice(start, equals).trimEnd()];
  });
}

/**
 * The heads (keyHeads) of every line that can set `key`: a key holding `=` is its text up to
 * that `=`; any other, the key then a quote or not (the line's first `=` follows them).
 */
function headsOf(key: string): string[] {
  const equals = key.indexOf("=");
  if (equals !== -1) return [key.slice(0, equals).trimEnd()];
  return [key.trimEnd(), `${key}"`, `${key}'`];
}

/** What may follow a key on its line: a closing quote, whitespace, then `=`. */
const AFTER_KEY = /^["']?\s*=/;

/** Whether `line` sets `key`: the key, quoted or not, then `=` (no value is checked). */
function keyMatches(line: string, key: string): boolean {
  const starts = line.startsWith('"') || line.startsWith("'") ? [1, 0] : [0];
  return starts.some((start) =>
    line.startsWith(key, start) && AFTER_KEY.test(line.slice(start + key.length))
  );
}
