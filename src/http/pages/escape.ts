import { printable } from "../../printable_text.ts";

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and
 * `'`. The one escape function every page uses for every interpolated value. Not enough for
 * unquoted attributes, URLs in `href` or content of `<script>`/`<style>`, which no page uses.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

/**
 * {@link escapeHtml} of a value from outside (a certificate's common name, the IdP's user name)
 * with its controls shown as the logs show them (`printable()`: `\u202e`, `\x0a`): after a
 * raw U+202E the rest of the confirm page's sentence would read backwards ("mallory morf
 * 66.311.0.302" for 203.0.113.66), and a zero-width character would hide that two names
 * differ. Letters of every script, right-to-left ones included, stay as they are.
 */
export function escapeHtmlPrintable(text: string): string {
  return escapeHtml(printable(text));
}
