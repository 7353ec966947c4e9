/**
 * The stored form of a pending login. Its OAuth values (state, nonce, PKCE verifier, browser
 * binding) are what a callback is checked against: anyone who reads them from the file could
 * finish the login from another browser. They are stored sealed (AES-256-GCM, the refresh
 * tokens' key) to the login's id, so a sealed value moved to another login does not open.
 */
import { checkPendingLogin } from "./entry_check.ts";
import type { TokenCipher } from "./token_cipher.ts";
import type { PendingLogin } from "./types.ts";

export function sealPendingData(login: PendingLogin, cipher: TokenCipher): string {
  const oauth = login.oauth && cipher.sealPending(JSON.stringify(login.oauth), login.id);
  return JSON.stringify({ ...login, oauth });
}

/**
 * Checks and opens what `sealPendingData` wrote; throws on altered or misplaced data.
 * `expectedId`: the id the login was read under, which it must carry (not a copied row).
 */
export function openPendingData(
  data: unknown,
  cipher: TokenCipher,
  expectedId?: string,
): PendingLogin {
  if (typeof data === "object" && data !== null) {
    const fields = data as Record<string, unknown>;
    if (typeof fields["oauth"] === "string" && typeof fields["id"] === "string") {
      fields["oauth"] = JSON.parse(cipher.openPending(fields["oauth"], fields["id"]));
    }
  }
  return checkPendingLogin(data, { expectedId });
}
