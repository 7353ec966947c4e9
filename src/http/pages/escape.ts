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
