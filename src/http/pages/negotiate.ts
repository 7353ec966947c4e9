/**
 * Picks the page language from `Accept-Language` (RFC 9110 12.5.4): the supported language
 * with the highest weight, matched on the primary subtag (`de-AT` matches `de`); `*` and
 * anything unknown fall back to `fallback`. A malformed entry is skipped, never an error.
 */
import { type Language, LANGUAGES } from "../../config/languages.ts";

/** Browsers send a handful of entries; a header longer than this is cut (never parsed whole). */
const MAX_HEADER_LENGTH = 512;
const ENTRY = /^([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*$/;
const WEIGHT = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;

export function pickLanguage(header: string | undefined, fallback: Language): Language {
  if (!header) return fallback;
  let best: Language | undefined;
  let bestWeight = 0;
  for (const part of header.slice(0, MAX_HEADER_LENGTH).split(",")) {
    const [range = "", ...params] = part.split(";").map((text) => text.trim());
    let weight = 1;
    for (const param of params) {
      if (!/^q=/i.test(param)) continue;
      const match = WEIGHT.exec(param);
      weight = match ? Number(match[1]) : 0;
    }
    const primary = ENTRY.exec(range)?.[1]?.toLowerCase();
    const language = LANGUAGES.find((candidate) => candidate === primary);
    if (language && weight > bestWeight) {
      best = language;
      bestWeight = weight;
    }
  }
  return best ?? fallback;
}
