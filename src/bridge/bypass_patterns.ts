/**
 * `bypass_common_names`: the certificate names admitted with no sign-in, as regular expressions
 * that must match the whole name. This module compiles them (at load), says which look like a
 * mistake (a warning at load) and applies them (decide, unasked admissions): one reading of a
 * pattern everywhere.
 */

/**
 * `source` as the bridge applies it: anchored at both ends, so `gw-1` admits `gw-1` only, not
 * `gw-10` or `evil-gw-1`. It must be a regular expression on its own: the anchors' group is no
 * fence for an unbalanced `)`: `gw-1)|(.*` compiled as `^(?:gw-1)|(.*)$` would match every
 * name.
 *
 * @throws {SyntaxError} when `source` is no regular expression
 */
export function compileBypassPattern(source: string): RegExp {
  new RegExp(source);
  return new RegExp(`^(?:${source})$`);
}

/**
 * Why a compiled pattern is likely a mistake, or undefined. One that matches an empty name
 * (`.*`, `gw-1|`, `(gw-1)?`) admits no client without a certificate (isBypassed), but its
 * optional parts make it wider than it reads: `.*` lets every client with a certificate in
 * without a sign-in. Said, not refused: `.*` on a server where only gateways hold certificates
 * (`verify-client-cert optional`) may be meant.
 */
export function bypassPatternWarning(source: string, pattern: RegExp): string | undefined {
  if (!pattern.test("")) return undefined;
  return `"${source}" matches an empty name, so it may match more names than meant: every ` +
    'client whose certificate name it matches connects without signing in (".*": every ' +
    "client with a certificate). A client without a certificate is never let in by a pattern";
}

/**
 * Whether `commonName`, a certificate's name, is on `bypass_common_names` (admitted with no
 * sign-in and no session). A client without a certificate has no name to bypass: "" is never
 * bypassed, even by a pattern that matches it (`.*`, `(gw-1)?`), or every such client would be.
 */
export function isBypassed(commonName: string, bypassCommonNames: readonly RegExp[]): boolean {
  return commonName !== "" && bypassCommonNames.some((pattern) => pattern.test(commonName));
}
