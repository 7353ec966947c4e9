/**
 * Encrypts refresh tokens at rest with AES-256-GCM (WebCrypto). Each ciphertext carries a fresh
 * random 96-bit IV and is bound to its session id as additional authenticated data, so a
 * ciphertext copied into another session's row fails to decrypt instead of lending that
 * session someone else's token.
 *
 * Stored form: 1 version byte, 12 IV bytes, then ciphertext with its 16-byte tag.
 */
import type { Secret } from "../config/secret.ts";

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const KEY_BYTES = 32;
/** Fixed HKDF inputs naming this one use of `http.secret`, so the derived key serves nothing else. */
const HKDF_SALT = "openvpn-auth-oidc sessions.encryption_key salt v1";
const HKDF_INFO = "openvpn-auth-oidc refresh token encryption (AES-256-GCM) v1";
const KEY_CHECK_PLAINTEXT = "openvpn-auth-oidc session store key check v1";
const KEY_CHECK_AAD = "key-check";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses `sessions.encryption_key`: 32 bytes as base64 (standard or URL-safe) or 64 hex chars. */
export function parseEncryptionKey(key: Secret): Uint8Array<ArrayBuffer> {
  const text = key.reveal().trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const bytes = new Uint8Array(KEY_BYTES);
    for (let i = 0; i < KEY_BYTES; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return bytes;
  }
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const binary = atob(text.slice(0, 43).replaceAll("-", "+").replaceAll("_", "/") + "=");
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  }
  throw new Error(
    `Invalid sessions.encryption_key: expected 32 bytes as base64 (44 characters) or as 64 hex ` +
      `characters, got ${text.length} characters`,
  );
}

export class TokenCipher {
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Uses `sessions.encryption_key` when set, else a key derived from `http.secret`. */
  static fromConfig(encryptionKey: Secret | undefined, httpSecret: Secret): Promise<TokenCipher> {
    return encryptionKey === undefined
      ? TokenCipher.deriveFrom(httpSecret)
      : TokenCipher.fromKeyBytes(parseEncryptionKey(encryptionKey));
  }

  static async fromKeyBytes(bytes: Uint8Array<ArrayBuffer>): Promise<TokenCipher> {
    if (bytes.length !== KEY_BYTES) {
      throw new Error(`Invalid token encryption key: expected 32 bytes, got ${bytes.length}`);
    }
    const key = await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    return new TokenCipher(key);
  }

  /** HKDF-SHA-256 from `secret`; the same secret always yields the same key. */
  static async deriveFrom(secret: Secret): Promise<TokenCipher> {
    const material = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret.reveal()),
      "HKDF",
      false,
      ["deriveKey"],
    );
    const key = await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: encoder.encode(HKDF_SALT),
        info: encoder.encode(HKDF_INFO),
      },
      material,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    return new TokenCipher(key);
  }

  encryptToken(token: string, sessionId: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.#encrypt(token, sessionAad(sessionId));
  }

  /** Throws when the blob was made with another key, for another session, or was altered. */
  async decryptToken(blob: Uint8Array, sessionId: string): Promise<string> {
    try {
      return await this.#decrypt(blob, sessionAad(sessionId));
    } catch (cause) {
      throw new Error("Refresh token decryption failed: wrong key, wrong session or altered data", {
        cause,
      });
    }
  }

  /** A value to store once, so that a later open can tell whether it has the same key. */
  makeKeyCheck(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#encrypt(KEY_CHECK_PLAINTEXT, encoder.encode(KEY_CHECK_AAD));
  }

  async matchesKeyCheck(blob: Uint8Array): Promise<boolean> {
    try {
      return await this.#decrypt(blob, encoder.encode(KEY_CHECK_AAD)) === KEY_CHECK_PLAINTEXT;
    } catch {
      return false;
    }
  }

  async #encrypt(plain: string, aad: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad },
      this.#key,
      encoder.encode(plain),
    );
    const blob = new Uint8Array(1 + IV_BYTES + sealed.byteLength);
    blob[0] = FORMAT_VERSION;
    blob.set(iv, 1);
    blob.set(new Uint8Array(sealed), 1 + IV_BYTES);
    return blob;
  }

  async #decrypt(blob: Uint8Array, aad: Uint8Array<ArrayBuffer>): Promise<string> {
    if (blob.length < 1 + IV_BYTES + 16 || blob[0] !== FORMAT_VERSION) {
      throw new Error(`Unknown encrypted token format: ${blob.length} bytes, version ${blob[0]}`);
    }
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: blob.slice(1, 1 + IV_BYTES), additionalData: aad },
      this.#key,
      blob.slice(1 + IV_BYTES),
    );
    return decoder.decode(plain);
  }
}

/** Prefixed so that no session id can collide with the key check's associated data. */
function sessionAad(sessionId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`session\u0000${sessionId}`);
}
