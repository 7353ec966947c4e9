/** Unguessable random text: login ids, cookie values, a Redis session's version. */
import { Buffer } from "node:buffer";

/** `bytes` random bytes in base64url without padding. */
export function randomToken(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return Buffer.from(random.buffer, random.byteOffset, random.byteLength).toString("base64url");
}
