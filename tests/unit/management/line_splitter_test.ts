/**
 * LineSplitter's bound on an unfinished line: a line of exactly `maxLineChars` is kept, one
 * character more is dropped (and reported once) up to its line end, however it is chunked.
 */
import { assertEquals } from "../../support/assert.ts";
import { LineSplitter } from "../../../src/management/line_splitter.ts";

const MAX = 16;

/** Feeds `chunks` and returns the lines and drops, in order. */
function split(chunks: string[]): string[] {
  const splitter = new LineSplitter(MAX);
  const seen: string[] = [];
  for (const chunk of chunks) {
    splitter.push(chunk, {
      line: (text, start, end, next) => {
        seen.push(text.slice(start, end));
        return next;
      },
      dropped: (length) => seen.push(`dropped ${length}`),
    });
  }
  return seen;
}

for (const chunked of [false, true]) {
  const cut = (text: string) => chunked ? [...text] : [text];
  Deno.test(`LineSplitter keeps a line of maxLineChars and drops one longer${chunked ? " (a character a chunk)" : ""}`, () => {
    assertEquals(split(cut(`${"a".repeat(MAX)}\nok\n`)), ["a".repeat(MAX), "ok"]);
    assertEquals(split(cut(`${"a".repeat(MAX + 1)}\nok\n`)), [`dropped ${MAX + 1}`, "ok"]);
  });
}

Deno.test("LineSplitter.reset() in the middle of a dropped line keeps the first line of the next connection", () => {
  const splitter = new LineSplitter(MAX);
  const seen: string[] = [];
  const sink = {
    line: (text: string, start: number, end: number, next: number) => {
      seen.push(text.slice(start, end));
      return next;
    },
    dropped: (length: number) => seen.push(`dropped ${length}`),
  };
  splitter.push("a".repeat(MAX + 1), sink);
  // The socket closed before that line ended: the next one opens with OpenVPN's greeting.
  splitter.reset();
  splitter.push(">INFO:hello\r\n", sink);
  assertEquals(seen, [`dropped ${MAX + 1}`, ">INFO:hello"], "the greeting was skipped");
});
