/**
 * Splits a stream of text chunks into lines (`\n` or `\r\n`), holding at most `maxLineChars`
 * of an unfinished line: a longer line is dropped up to its line end and reported, so a peer
 * that never sends a newline cannot make us buffer without bound.
 *
 * Lines are handed over as places in a string, not as new strings: a REAUTH block is about 57
 * lines, and slicing each out only for most of them to be skipped was a large part of the cost
 * of answering it. The consumer slices what it keeps.
 */
export interface LineSink {
  /**
   * A whole line: `text.slice(start, end)`, without its line end (and one `\r` before it).
   * `next` is where the text after the line end starts in `text`, or -1 when the line was
   * put together from several chunks (`text` then holds only the line). Returns where to go on
   * in `text` (`next`, or further when the sink took the lines after it too).
   */
  line(text: string, start: number, end: number, next: number): number;
  /** A line longer than the limit was dropped; `length`: how much of it was seen. */
  dropped(length: number): void;
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

  /** Hands every line `chunk` ends to `sink`, in order, and keeps the unfinished rest. */
  push(chunk: string, sink: LineSink): void {
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
        // Reported once, when the limit is crossed; the rest of the line is skipped silently.
        sink.dropped(seen);
        if (newline === -1) {
          this.#discarding = true;
          break;
        }
        pos = newline + 1;
        continue;
      }
      if (this.#partial === "" && newline !== -1) {
        // The common case, a whole line inside one chunk: no string made at all.
        const stop = end > pos && chunk.charCodeAt(end - 1) === CR ? end - 1 : end;
        pos = sink.line(chunk, pos, stop, newline + 1);
        continue;
      }
      this.#partial += chunk.slice(pos, end);
      if (newline === -1) break;
      const line = this.#partial;
      this.#partial = "";
      const stop = line.length > 0 && line.charCodeAt(line.length - 1) === CR
        ? line.length - 1
        : line.length;
      sink.line(line, 0, stop, -1);
      pos = newline + 1;
    }
  }
}
