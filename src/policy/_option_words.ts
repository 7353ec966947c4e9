/**
 * Splits one OpenVPN config line into words the way OpenVPN's own config lexer does, so that a
 * line can be checked before the server sees it: whitespace separates words, a word starting
 * with `"` runs to the next unescaped `"`, a word starting with `'` runs to the next `'` with no
 * escapes, a backslash outside single quotes escapes only `\`, `"` or whitespace, and `#` or `;`
 * at the start of a word begins a comment.
 */
export type OptionWords = { words: string[] } | { error: string };

export function splitOptionWords(line: string): OptionWords {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === "#" || c === ";") break;
    let word = "";
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) return { error: "No closing quotation (')" };
      words.push(line.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    const quoted = c === '"';
    if (quoted) i++;
    let closed = !quoted;
    while (i < line.length) {
      const d = line.charAt(i);
      if (d === "\\") {
        const next = line.charAt(i + 1);
        if (next !== "\\" && next !== '"' && !isSpace(next)) {
          return { error: 'Bad backslash usage: only \\\\, \\" and \\<space> are escapes' };
        }
        word += next;
        i += 2;
        continue;
      }
      if (quoted ? d === '"' : isSpace(d)) {
        closed = true;
        i++;
        break;
      }
      word += d;
      i++;
    }
    if (!closed) return { error: 'No closing quotation (")' };
    words.push(word);
  }
  return { words };
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
}
