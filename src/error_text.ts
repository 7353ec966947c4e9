/**
 * The text of a thrown value, the one rule for it: an Error's message, without String()'s
 * `Error: ` prefix (the line around it already says what failed); anything else thrown
 * (a string, a number, a rejected promise's reason) as String() writes it. Callers that
 * escape, bound or mask the text do so on what this returns.
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
