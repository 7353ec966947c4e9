/**
 * How the test IdP checks a password: by plain comparison (fast tests), or, for the bench, the
 * way Keycloak does by default, PBKDF2-HMAC-SHA512 over a per-user salt, so that a login costs
 * the IdP what it costs Keycloak.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

const HASH_BYTES = 64;

export type PasswordCheck = (stored: string, given: string) => boolean;

export function plainPasswordCheck(stored: string, given: string): boolean {
  const x = new TextEncoder().encode(stored);
  const y = new TextEncoder().encode(given);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Hashes each stored password once (its "credential"), then every given one per check. */
export function pbkdf2PasswordCheck(iterations: number): PasswordCheck {
  const credentials = new Map<string, { salt: Buffer; hash: Buffer }>();
  return (stored, given) => {
    let credential = credentials.get(stored);
    if (credential === undefined) {
      const salt = randomBytes(16);
      credential = { salt, hash: pbkdf2Sync(stored, salt, iterations, HASH_BYTES, "sha512") };
      credentials.set(stored, credential);
    }
    const hash = pbkdf2Sync(given, credential.salt, iterations, HASH_BYTES, "sha512");
    return timingSafeEqual(hash, credential.hash);
  };
}
