/**
 * A short, log-safe description of a line for protocol warnings. Anything from a word that
 * hints at a credential (`password=`, `Auth-Token:`, `SESS_ID_...`) onwards is replaced by
 * `***`, the rest is cut to a few dozen characters and JSON-quoted so that control characters
 * cannot forge log lines.
 */
const SECRET_HINT = /pass|token|secret|sess_id/i;
const SHOWN_CHARS = 48;

export function describeLine(line: string): string {
  const hint = SECRET_HINT.exec(line);
  let shown = hint ? `${line.slice(0, hint.index + hint[0].length)}***` : line;
  if (shown.length > SHOWN_CHARS) shown = `${shown.slice(0, SHOWN_CHARS)}...`;
  return `${JSON.stringify(shown)} (${line.length} chars)`;
}
