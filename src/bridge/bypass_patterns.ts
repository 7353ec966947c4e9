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
 * Names of the kinds certificates carry, unrelated to each other and to any operator's naming: a
 * user name, an e-mail address, a host name, a person's name with a space, a UUID, a serial
 * number, one character, a name in another script and one of 64 characters (the longest a
 * certificate's common name may be). A pattern that matches most of them
 * (MOST_NAMES_PROBED) matches whatever name a certificate has: `.+`, `\S+`, `[^x]*x?`.
 */
const UNRELATED_NAMES = [
  "alice",
  "bob.smith@mail.example.org",
  "laptop-0042.corp.example.net",
  "Mallory O'Neil",
  "3f2b9c1e-7d4a-4e8b-9a61-0c5d2e7f8a13",
  "00A1F3",
  "7",
  "Zürich Büro 3",
  "Q".repeat(20) + "z_9.".repeat(11),
];
/** More than half: a pattern written for the operator's names matches one of them at most. */
const MOST_NAMES_PROBED = Math.floor(UNRELATED_NAMES.length / 2) + 1;

/**
 * Why a compiled pattern is likely a mistake, or undefined. A bypass skips the IdP, so a pattern
 * that matches most unrelated names (`.+`, `\S+`) turns the sign-in off for every client with a
 * certificate. One that matches an empty name (`(gw-1)?`, `gw-1|`) admits no client without a
 * certificate (isBypassed), but its optional parts make it wider than it reads. Said, not
 * refused: `.*` on a server where only gateways hold certificates (`verify-client-cert optional`)
 * may be meant.
 */
export function bypassPatternWarning(source: string, pattern: RegExp): string | undefined {
  const matched = UNRELATED_NAMES.filter((name) => pattern.test(name)).length;
  if (matched >= MOST_NAMES_PROBED) {
    return `"${source}" matches almost any name (it matched ${matched} of ${UNRELATED_NAMES.length} ` +
      'unrelated names tried, such as "alice", "00A1F3" and "Mallory O\'Neil"): every client ' +
      "with a certificate connects without signing in. A client without a certificate is never " +
      "let in by a pattern";
  }
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
