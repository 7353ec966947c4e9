/**
 * Each character a web log viewer ends a line at (U+2028, U+2029) or a bidi-aware one reorders
 * text at (U+202A-U+202E, U+2066-U+2069), by code point: what printable() and every log line
 * must show escaped. Listed here one by one rather than taken from src/printable_text.ts, so
 * that the tests check its set instead of repeating it.
 */
export const LINE_AND_BIDI_CODES: readonly number[] = [
  0x2028,
  0x2029,
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
];
