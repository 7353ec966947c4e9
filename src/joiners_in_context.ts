/**
 * Where U+200C ZERO WIDTH NON-JOINER, U+200D ZERO WIDTH JOINER and the variation selectors
 * U+FE0E and U+FE0F change how the characters around them are drawn. There they are part of how
 * a name is written: a Persian name (علی\u200cرضا), a Devanagari conjunct (क्\u200dष), an
 * emoji (👩\u200d💻, ❤\ufe0f). Anywhere else they draw nothing, and "al\u200dice" would pass for
 * "alice": printable_text.ts escapes every character drawn as nothing but one that stands where
 * this module says it shapes the text. A place is judged by the characters next to it in the
 * text as written, and every neighbour consulted is one printable() leaves as it is, so that a
 * joiner it shows never ends up next to the ASCII of an escape, where it would draw nothing.
 */

const ZWNJ = "\u200c";
const ZWJ = "\u200d";
/** VARIATION SELECTOR-15 and -16: the text and the emoji presentation selectors. */
const VS15 = "\ufe0e";
const VS16 = "\ufe0f";

/**
 * Every character of Canonical_Combining_Class 9 (Virama): the viramas, halants and killers of
 * the Brahmic scripts, Khmer's coeng, Myanmar's asat. JavaScript has no property for the class,
 * so the list is explicit; a unit test holds it to the runtime's own Unicode data (canonical
 * reordering, which sorts marks by this class), so that a new Unicode version cannot leave it
 * behind unnoticed.
 */
const VIRAMA = "[\\u094d\\u09cd\\u0a4d\\u0acd\\u0b4d\\u0bcd\\u0c4d\\u0ccd\\u0d3b-\\u0d3c\\u0d4d" +
  "\\u0dca\\u0e3a\\u0eba\\u0f84\\u1039-\\u103a\\u1714-\\u1715\\u1734\\u17d2\\u1a60\\u1b44" +
  "\\u1baa-\\u1bab\\u1bf2-\\u1bf3\\u2d7f\\ua806\\ua82c\\ua8c4\\ua953\\ua9c0\\uaaf6\\uabed" +
  "\\u{10a3f}\\u{11046}\\u{11070}\\u{1107f}\\u{110b9}\\u{11133}-\\u{11134}\\u{111c0}\\u{11235}" +
  "\\u{112ea}\\u{1134d}\\u{113ce}-\\u{113d0}\\u{11442}\\u{114c2}\\u{115bf}\\u{1163f}\\u{116b6}" +
  "\\u{1172b}\\u{11839}\\u{1193d}-\\u{1193e}\\u{119e0}\\u{11a34}\\u{11a47}\\u{11a99}\\u{11c3f}" +
  "\\u{11d44}-\\u{11d45}\\u{11d97}\\u{11f41}-\\u{11f42}\\u{1612f}]";

/*
 * The letters a ZWNJ parts, by their Joining_Type (Unicode's ArabicShaping.txt), which
 * JavaScript has no property for either. Taken exactly, but only for the Arabic script's letters
 * in the Arabic, Arabic Supplement and Arabic Extended-A blocks, where every modern language
 * that writes a ZWNJ between letters writes (Persian, Urdu, Kurdish, Pashto, Sindhi, ...). The
 * other cursive scripts (Syriac, N'Ko, Mongolian, Adlam, historic ones) are left out: a ZWNJ
 * there stays escaped, as does one after a letter that never joins the next (alef, dal, reh,
 * waw: the ZWNJ in محمد\u200cرضا, after dal, changes nothing and looks like محمدرضا).
 */
/** Joining_Type D (dual-joining; these blocks have no L): a letter that joins the next one. */
const JOINS_NEXT = "[\\u0620\\u0626\\u0628\\u062a-\\u062e\\u0633-\\u063f\\u0641-\\u0647" +
  "\\u0649-\\u064a\\u066e-\\u066f\\u0678-\\u0687\\u069a-\\u06bf\\u06c1-\\u06c2\\u06cc\\u06ce" +
  "\\u06d0-\\u06d1\\u06fa-\\u06fc\\u06ff\\u0750-\\u0758\\u075c-\\u076a\\u076d-\\u0770\\u0772" +
  "\\u0775-\\u0777\\u077a-\\u077f\\u08a0-\\u08a9\\u08af-\\u08b0\\u08b3-\\u08b8\\u08ba-\\u08c8]";
/** Joining_Type R or D: a letter that joins the one before it. */
const JOINS_PREVIOUS = "[\\u0620\\u0622-\\u063f\\u0641-\\u064a\\u066e-\\u066f\\u0671-\\u0673" +
  "\\u0675-\\u06d3\\u06d5\\u06ee-\\u06ef\\u06fa-\\u06fc\\u06ff\\u0750-\\u077f\\u08a0-\\u08ac" +
  "\\u08ae-\\u08c8]";
/**
 * Joining_Type T (transparent: the vowel marks between two letters that join), as the nonspacing
 * marks, all of which are T, but for the ones drawn as nothing (a variation selector is one):
 * printable() escapes those, and the escape would stand between the letter and the ZWNJ.
 */
const TRANSPARENT = "[\\p{Mn}--\\p{Default_Ignorable_Code_Point}]";

/** An emoji drawn as text unless U+FE0F follows (❤, ☺, ©); the ASCII digits, # and * aside. */
const TEXT_DEFAULT_EMOJI = "[\\p{Emoji}--\\p{Emoji_Presentation}--[\\x00-\\x7f]]";
/** A pictograph drawn as emoji unless U+FE0E follows (⌚): not a flag letter, not a skin tone. */
const EMOJI_DEFAULT_PICTOGRAPH = "[\\p{Emoji_Presentation}&&\\p{Extended_Pictographic}]";

/**
 * A ZWNJ, ZWJ, U+FE0E or U+FE0F that shapes the text, matched at one index (sticky), one
 * alternative per rule.
 */
const SHAPES_THE_TEXT = new RegExp(
  [
    // RFC 5892 A.1 and A.2 (CONTEXTJ): right after a virama, a ZWJ asks for the consonant's half
    // form (क्\u200dष), a ZWNJ for the visible virama instead of the conjunct (क्\u200cष).
    `(?<=${VIRAMA})[${ZWNJ}${ZWJ}]`,
    // RFC 5892 A.1: a ZWNJ between two letters that would join, vowel marks allowed around it,
    // breaks the cursive connection (the Persian ی\u200cر in علی\u200cرضا).
    `(?<=${JOINS_NEXT}${TRANSPARENT}*)${ZWNJ}(?=${TRANSPARENT}*${JOINS_PREVIOUS})`,
    // UTS #51 emoji ZWJ sequence (👩\u200d💻, 👩🏽\u200d💻, 🏳\ufe0f\u200d🌈): a ZWJ between two
    // pictographs, the first with its skin tone or its U+FE0F. Whether Unicode recommends the
    // pair (so that fonts draw it as one) is not checked: two emoji side by side, either way.
    `(?<=\\p{Extended_Pictographic}\\p{Emoji_Modifier}?|${TEXT_DEFAULT_EMOJI}${VS16})` +
    `${ZWJ}(?=\\p{Extended_Pictographic})`,
    // UTS #51 emoji and text presentation sequences: a selector that asks for the form the
    // character does not have by default. One asking for the form it has (👩 U+FE0F) draws
    // nothing, and one after a letter or a digit too, but in a keycap (1, U+FE0F, U+20E3).
    `(?<=${TEXT_DEFAULT_EMOJI})${VS16}`,
    `(?<=[#*0-9])${VS16}(?=\\u20e3)`,
    `(?<=${EMOJI_DEFAULT_PICTOGRAPH})${VS15}`,
  ].join("|"),
  "vy",
);

/**
 * Whether the character at `index` of `text` is a ZWNJ, ZWJ or emoji variation selector that
 * shapes the characters next to it (SHAPES_THE_TEXT), rather than one that draws nothing.
 */
export function shapesTheText(text: string, index: number): boolean {
  // The four characters SHAPES_THE_TEXT can match, looked at first: most characters a line
  // escapes are controls, and this costs less than the regular expression.
  const c = text[index];
  if (c !== ZWNJ && c !== ZWJ && c !== VS15 && c !== VS16) return false;
  SHAPES_THE_TEXT.lastIndex = index;
  return SHAPES_THE_TEXT.test(text);
}
