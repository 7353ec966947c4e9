/**
 * smol-toml reports lines for syntax errors only, so for errors about a key we find the line
 * ourselves: the first `key =` under the key's `[section]` header (or the n-th
 * `[[client_config]]` block). Good enough to point a person at the right place.
 */
export function locateKey(
  source: string,
  section: string,
  key: string | undefined,
  arrayIndex?: number,
): number | undefined {
  const lines = source.split(/\r?\n/);
  let current = "";
  let arrayCount = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(line);
    if (header) {
      current = header[1]!;
      if (line.startsWith("[[") && current === section) arrayCount++;
      const inTarget = current === section &&
        (arrayIndex === undefined || arrayIndex === arrayCount);
      if (inTarget && key === undefined) return i + 1;
      continue;
    }
    if (current !== section || key === undefined) continue;
    if (arrayIndex !== undefined && arrayIndex !== arrayCount) continue;
    const keyPattern = new RegExp(`^["']?${escapeRegExp(key)}["']?\\s*=`);
    if (keyPattern.test(line)) return i + 1;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
