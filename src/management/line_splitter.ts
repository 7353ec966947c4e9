/**
 * Splits a stream of text chunks into lines (`\n` or `\r\n`), holding at most `maxLineChars`
 * of an unfinished line: a longer line is dropped up to its line end and reported, so a peer
 * that never sends a newline cannot make us buffer without bound.
 */
export interface SplitResult {
  lines: string[];
  /** Lengths (so far) of lines dropped for being too long. */
  dropped: number[];
  /** For each dropped line, how many of `lines` came before it (its place in the stream). */
  droppedAt: number[];
}

const CR = 13;

export class LineSplitter {
  readonly #maxLineChars: number;
  #partial = "";
  #discarding = false;

  constructor(maxLineChars: number) {
    this.#maxLineChars = maxLineChars;
  }

  /** The unfinished line held so far (not yet ended by `\n`). */
  get partial(): string {
    return this.#partial;
  }

  /** Forgets the unfinished line, e.g. once it was recognised as a prompt without line end. */
  clearPartial(): void {
    this.#partial = "";
  }

  reset(): void {
    this.#partial = "";
    this.#discarding = false;
  }

  push(chunk: string): SplitResult {
    const lines: string[] = [];
    const dropped: number[] = [];
    const droppedAt: number[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf("\n", pos);
      const end = newline === -1 ? chunk.length : newline;
      if (this.#discarding) {
        if (newline === -1) break;
        this.#discarding = false;
        pos = newline + 1;
        continue;
      }
      if (this.#partial.length + (end - pos) > this.#maxLineChars) {
        const seen = this.#partial.length + (end - pos);
        this.#partial = "";
        if (newline === -1) {
          // Report once, when the limit is crossed; the rest of the line is skipped silently.
          this.#discarding = true;
          dropped.push(seen);
          droppedAt.push(lines.length);
          break;
        }
        dropped.push(seen);
        droppedAt.push(lines.length);
        pos = newline + 1;
        continue;
      }
      if (this.#partial === "" && newline !== -1) {
        // The common case, a whole line inside one chunk: one slice, no concatenation.
        const stop = end > pos && chunk.charCodeAt(end - 1) === CR ? end - 1 : end;
        lines.push(chunk.slice(pos, stop));
        pos = newline + 1;
        continue;
      }
      this.#partial += chunk.slice(pos, end);
      if (newline === -1) break;
      const line = this.#partial;
      this.#partial = "";
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      pos = newline + 1;
    }
    return { lines, dropped, droppedAt };
  }
}
