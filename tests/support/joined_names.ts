/**
 * Names written with a ZWNJ (U+200C), ZWJ (U+200D) or emoji variation selector (U+FE0E, U+FE0F)
 * where it shapes the characters next to it (JOINED_NAMES): printable() and everything that
 * shows a name must keep them as written. And the same characters where they draw nothing
 * (SPOOFED_NAMES), each with what it must show instead, so that no name passes for another.
 * Listed here one by one rather than taken from src/joiners_in_context.ts, so that the tests
 * check its rules instead of repeating them.
 */
export interface JoinedName {
  what: string;
  name: string;
}

export const JOINED_NAMES: readonly JoinedName[] = [
  { what: "Persian, ZWNJ between yeh and reh", name: "علی\u200cرضا" },
  { what: "Persian, ZWNJ between heh and zain", name: "فاطمه\u200cزهرا" },
  { what: "Arabic, ZWNJ between two letters with vowel marks", name: "بَ\u200cبِ" },
  { what: "Devanagari half form, ZWJ after the virama", name: "क्\u200dष" },
  { what: "Devanagari visible virama, ZWNJ after it", name: "क्\u200cष" },
  { what: "Sinhala, ZWJ after the al-lakuna", name: "ශ්\u200dරී" },
  { what: "emoji ZWJ sequence", name: "👩\u200d💻" },
  { what: "emoji ZWJ sequence with a skin tone", name: "👩🏽\u200d💻" },
  { what: "emoji ZWJ sequence after an emoji selector", name: "🏳\ufe0f\u200d🌈" },
  { what: "emoji selector on a text-default emoji", name: "❤\ufe0f" },
  { what: "keycap", name: "1\ufe0f\u20e3" },
  { what: "text selector on an emoji-default pictograph", name: "⌚\ufe0e" },
];

export interface SpoofedName extends JoinedName {
  /** As printable() shows it. */
  shown: string;
}

export const SPOOFED_NAMES: readonly SpoofedName[] = [
  { what: "a lone ZWJ", name: "\u200d", shown: "\\u200d" },
  { what: "a ZWNJ first", name: "\u200calice", shown: "\\u200calice" },
  { what: "a ZWJ last", name: "alice\u200d", shown: "alice\\u200d" },
  { what: "a ZWJ after a consonant without virama", name: "क\u200dष", shown: "क\\u200dष" },
  { what: "a second ZWJ after a virama", name: "क्\u200d\u200dष", shown: "क्\u200d\\u200dष" },
  { what: "a ZWNJ after dal, which never joins", name: "محمد\u200cرضا", shown: "محمد\\u200cرضا" },
  { what: "a ZWNJ after hamza", name: "ء\u200cب", shown: "ء\\u200cب" },
  { what: "a ZWNJ ending an Arabic name", name: "علی\u200c", shown: "علی\\u200c" },
  { what: "a ZWNJ before a Latin letter", name: "ی\u200ca", shown: "ی\\u200ca" },
  { what: "two ZWNJ", name: "علی\u200c\u200cرضا", shown: "علی\\u200c\\u200cرضا" },
  { what: "a ZWNJ after an escaped mark", name: "ی\ufe00\u200cر", shown: "ی\\ufe00\\u200cر" },
  { what: "a ZWJ after a Latin letter", name: "a\u200d👩", shown: "a\\u200d👩" },
  { what: "a ZWJ before a Latin letter", name: "👩\u200da", shown: "👩\\u200da" },
  { what: "two ZWJ between emoji", name: "👩\u200d\u200d💻", shown: "👩\\u200d\\u200d💻" },
  { what: "an emoji selector on an emoji", name: "👩\ufe0f", shown: "👩\\ufe0f" },
  { what: "a ZWJ after that selector", name: "👩\ufe0f\u200d💻", shown: "👩\\ufe0f\\u200d💻" },
  { what: "a text selector on a text-default emoji", name: "❤\ufe0e", shown: "❤\\ufe0e" },
  { what: "an emoji selector on a digit, no keycap", name: "bob1\ufe0f", shown: "bob1\\ufe0f" },
  { what: "an emoji selector on a Latin letter", name: "alice\ufe0f", shown: "alice\\ufe0f" },
];
