import { createHash } from "node:crypto";

/**
 * The built-in pages' only style: system fonts, a readable column, and dark mode through
 * `prefers-color-scheme`. Inline so the pages need no other request; allowed by its hash in the
 * Content-Security-Policy, not by `'unsafe-inline'`.
 *
 * Paddings are at most a share of the viewport: in rem alone, a 320 px phone with text at 200%
 * kept a 142 px column and broke words mid-word. The button's border is transparent, not 0:
 * forced colours (Windows High Contrast) paint it, the only edge the button has there; its
 * padding gives the border's 2 px back, so the button keeps its size.
 */
export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #f7f7f8; --card: #ffffff; --muted: #55565e;
  --accent: #1f5fbf; --accent-fg: #ffffff; --border: #d5d6dc; --warn: #8a4b00; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #ececf1; --bg: #16171b; --card: #202127; --muted: #a9abb6; --accent: #6ea2ff;
    --accent-fg: #0b1020; --border: #3a3c45; --warn: #ffb661; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: min(2rem, 5vw) min(1rem, 3vw); background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 36rem; margin: 0 auto; padding: min(1.5rem, 5vw) min(1.75rem, 5vw);
  background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem;
  overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: 0.9375rem; }
.warning { color: var(--warn); }
form { margin: 1.5rem 0 0; }
button { font: inherit; font-weight: 600; border: 2px solid transparent;
  padding: calc(0.625rem - 2px) calc(min(1.25rem, 4vw) - 2px); border-radius: 0.5rem;
  background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button:focus-visible { outline: 3px solid var(--fg); outline-offset: 2px; }
`;

/**
 * The CSP source (`'sha256-...'`) allowing an inline `<style>` whose text is `css`. Browsers
 * hash the element's text after the HTML parser turned CR LF and CR into LF, so this does too.
 */
export function styleHashSource(css: string): string {
  const normalized = css.replace(/\r\n?/g, "\n");
  return `'sha256-${createHash("sha256").update(normalized, "utf8").digest("base64")}'`;
}

/** The CSP source for {@link PAGE_STYLE}, computed once at startup. */
export const PAGE_STYLE_SOURCE: string = styleHashSource(PAGE_STYLE);
