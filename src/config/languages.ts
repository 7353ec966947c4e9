/** The languages the built-in pages are translated into; the first is the fallback. */
export const LANGUAGES = ["en", "de", "fr", "es"] as const;
export type Language = typeof LANGUAGES[number];
