/**
 * Control characters of every kind (not only line breaks) are refused in a username: it ends
 * up in logs, session records and management commands, where a NUL, a tab or an ESC would cut,
 * shift or recolour what the operator reads.
 */
import { assertThrows } from "../../support/assert.ts";
import { ClaimError } from "../../../src/policy/claims.ts";
import { authTokenUserLine } from "../../../src/policy/client_config.ts";
import { extractIdentity } from "../../../src/policy/identity.ts";

const OPTIONS = { usernameClaim: "preferred_username", groupsClaim: "groups" };
const CONTROLS = ["\u0000", "\t", "\u001b[31m", "\u007f", "\u0085"];

Deno.test("extractIdentity() refuses a username or subject with any control character", () => {
  for (const control of CONTROLS) {
    const username = `alice${control}`;
    assertThrows(
      () => extractIdentity({ sub: "s", preferred_username: username }, OPTIONS),
      ClaimError,
      'Claim contains control characters: "preferred_username"',
    );
    assertThrows(
      () => extractIdentity({ sub: `s${control}`, preferred_username: "alice" }, OPTIONS),
      ClaimError,
      'Claim contains control characters: "sub"',
    );
  }
});

Deno.test("authTokenUserLine() refuses a username with any control character", () => {
  for (const control of CONTROLS) {
    assertThrows(
      () => authTokenUserLine(`alice${control}`),
      RangeError,
      "Username for auth-token-user contains control characters",
    );
  }
});
