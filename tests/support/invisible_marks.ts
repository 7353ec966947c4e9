/**
 * Each character that shows as nothing yet stays in the text, by code point: the bidi marks
 * U+061C, U+200E and U+200F (they reorder the neutral characters around them) and the
 * zero-width U+200B-U+200D and U+FEFF (two names differing only by one look the same), and more
 * drawn as nothing: the combining grapheme joiner U+034F, the Mongolian vowel separator U+180E,
 * the word joiner U+2060, the Hangul filler U+3164, the variation selector U+FE0F. What
 * printable() and every log line must show escaped between Latin letters, next to
 * line_and_bidi.ts's (where U+200C, U+200D and U+FE0F shape a name, joined_names.ts); listed here
 * one by one rather than taken from src/printable_text.ts, so that the tests check its set
 * instead of repeating it.
 */
export const INVISIBLE_MARK_CODES: readonly number[] = [
  0x034f,
  0x061c,
  0x180e,
  0x200b,
  0x200c,
  0x200d,
  0x200e,
  0x200f,
  0x2060,
  0x3164,
  0xfe0f,
  0xfeff,
];
