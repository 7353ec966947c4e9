import { escapeHtml } from "./escape.ts";
import { PAGE_STYLE } from "./style.ts";

/**
 * The page's icon, empty and inline: without one, Firefox fetches /favicon.ico itself under the
 * page's Content-Security-Policy (`img-src data:`) and logs a violation on every page.
 */
const ICON = '<link rel="icon" href="data:,">';

/**
 * A complete built-in page: `title` is plain text (escaped here), `body` and `head` (more of
 * `<head>`) are HTML that the caller built with {@link escapeHtml} for every value in it.
 */
export function renderPage(title: string, body: string, lang = "en", head = ""): string {
  const safeTitle = escapeHtml(title);
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
${ICON}
<title>${safeTitle}</title>${head}
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${safeTitle}</h1>
${body}
</main>
</body>
</html>
`;
}
