/**
 * loggedBytes() is an upper bound: no character is written longer than it says, in the JSON
 * line's message (a value's JSON text inside a JSON string, the longest place), in its
 * properties, or in a text line (the runtime's inspect, then printable()).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { loggedBytes, loggedBytesOf, MAX_LOGGED_BYTES_PER_UNIT } from "../../src/logged_bytes.ts";
import { escapeLeftRawByJson, printable } from "../../src/printable_text.ts";

const utf8 = (text: string) => new TextEncoder().encode(text).length;

/** Bytes of `c` as each place writes it, without the quotes around the value. */
function writtenBytes(c: string): number[] {
  const json = JSON.stringify(c);
  const inMessage = escapeLeftRawByJson(JSON.stringify(json)).slice(3, -3);
  const inProperty = escapeLeftRawByJson(json).slice(1, -1);
  const inText = printable(Deno.inspect(c)).slice(1, -1);
  return [inMessage, inProperty, inText].map(utf8);
}

/** Every code point of the Basic Multilingual Plane (lone surrogates too) and the astral samples. */
function* characters(): Generator<string> {
  for (let code = 0; code <= 0xffff; code++) yield String.fromCharCode(code);
  for (const code of [0x1f600, 0xe0041, 0xe0100, 0x1d173, 0x10ffff]) {
    yield String.fromCodePoint(code);
  }
}

Deno.test("loggedBytes() is never less than a character takes where a log line writes it", () => {
  for (const c of characters()) {
    const most = Math.max(...writtenBytes(c));
    assert(loggedBytes(c) >= most, `U+${c.codePointAt(0)!.toString(16)}: ${most} bytes`);
    assert(loggedBytes(c) <= MAX_LOGGED_BYTES_PER_UNIT * c.length);
  }
});

Deno.test("loggedBytes() counts plain text as its UTF-8 bytes", () => {
  assertEquals(loggedBytesOf("alice Jürgen 一 😀"), utf8("alice Jürgen 一 😀"));
  assertEquals(loggedBytesOf("\x01\u200b\n"), 7 + 6 + 10);
});
