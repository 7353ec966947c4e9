/**
 * Encrypts refresh tokens at rest with AES-256-GCM (`node:crypto`, synchronous: a session read
 * on the REAUTH path then costs no thread hand-off, which showed as latency spikes with
 * WebCrypto). Each ciphertext carries a fresh
 * random 96-bit IV and is bound to its session id as additional authenticated data, so a
 * ciphertext copied into another session's row fails to decrypt instead of lending that
 * session someone else's token.
 *
 * Stored form: 1 version byte, 12 IV bytes, then ciphertext with its 16-byte tag.
 */
import { Buffer } from "node:buffer";
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import type { Secret } from "../config/secret.ts";
import { getLogger } from "../log.ts";

const log = getLogger("sessions");

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
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
  readonly #key: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
  }

  /** Uses `sessions.encryption_key` when set, else a key derived from `http.secret`. */
  static fromConfig(encryptionKey: Secret | undefined, httpSecret: Secret): Promise<TokenCipher> {
    return encryptionKey === undefined
      ? TokenCipher.deriveFrom(httpSecret)
      : TokenCipher.fromKeyBytes(parseEncryptionKey(encryptionKey));
  }

  static fromKeyBytes(bytes: Uint8Array<ArrayBuffer>): Promise<TokenCipher> {
    if (bytes.length !== KEY_BYTES) {
      return Promise.reject(
        new Error(`Invalid token encryption key: expected 32 bytes, got ${bytes.length}`),
      );
    }
    return Promise.resolve(new TokenCipher(createSecretKey(bytes)));
  }

  /** HKDF-SHA-256 from `secret`; the same secret always yields the same key. */
  static deriveFrom(secret: Secret): Promise<TokenCipher> {
    const key = hkdfSync(
      "sha256",
      encoder.encode(secret.reveal()),
      encoder.encode(HKDF_SALT),
      encoder.encode(HKDF_INFO),
      KEY_BYTES,
    );
    return Promise.resolve(new TokenCipher(createSecretKey(new Uint8Array(key))));
  }

  encryptToken(token: string, sessionId: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.#encrypt(token, sessionAad(sessionId));
  }

  /** encryptToken, synchronous: for the file store, inside its transaction. */
  sealToken(token: string, sessionId: string): Uint8Array<ArrayBuffer> {
    return this.#seal(token, sessionAad(sessionId));
  }

  /** Throws when the blob was made with another key, for another session, or was altered. */
  decryptToken(blob: Uint8Array, sessionId: string): Promise<string> {
    return Promise.try(() => this.openToken(blob, sessionId));
  }

  /** decryptToken, synchronous: for the file store, which decodes a row without awaiting. */
  openToken(blob: Uint8Array, sessionId: string): string {
    try {
      return this.#open(blob, sessionAad(sessionId));
    } catch (cause) {
      throw new Error("Refresh token decryption failed: wrong key, wrong session or altered data", {
        cause,
      });
    }
  }

  /**
   * The token of a session row just removed (SessionStore.deleteSession), or undefined when it
   * does not open: a row copied from another session's is not this one's, and the session is
   * gone all the same (the caller revokes the token it holds, if any).
   */
  openRemovedToken(blob: Uint8Array, sessionId: string): string | undefined {
    try {
      return this.openToken(blob, sessionId);
    } catch {
      log.warning("Refresh token of a removed session not read: {error}", {
        error: "decryption failed: wrong key, wrong session or altered data",
      });
      return undefined;
    }
  }

  /**
   * For a shared store (Redis), which keeps a pending login's OAuth state, nonce, PKCE verifier
   * and browser binding outside the process: bound to the login id, in a domain of its own.
   */
  encryptPendingSecrets(plain: string, loginId: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.#encrypt(plain, pendingAad(loginId));
  }

  /** Throws when the blob was made with another key, for another login, or was altered. */
  async decryptPendingSecrets(blob: Uint8Array, loginId: string): Promise<string> {
    try {
      return await this.#decrypt(blob, pendingAad(loginId));
    } catch (cause) {
      throw new Error("Pending login decryption failed: wrong key, wrong login or altered data", {
        cause,
      });
    }
  }

  /**
   * The same sealing, synchronous and as text: for the file store, inside its transaction.
   */
  sealPending(plain: string, loginId: string): string {
    return toBase64(this.#seal(plain, pendingAad(loginId)));
  }

  /** Throws when the value was sealed with another key, for another login, or was altered. */
  openPending(sealed: string, loginId: string): string {
    return this.#open(fromBase64(sealed), pendingAad(loginId));
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

  #encrypt(plain: string, aad: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.#seal(plain, aad));
  }

  #decrypt(blob: Uint8Array, aad: Uint8Array<ArrayBuffer>): Promise<string> {
    try {
      return Promise.resolve(this.#open(blob, aad));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #seal(plain: string, aad: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(aad);
    const sealed = [cipher.update(encoder.encode(plain)), cipher.final(), cipher.getAuthTag()];
    const length = sealed.reduce((sum, part) => sum + part.length, 0);
    const blob = new Uint8Array(1 + IV_BYTES + length);
    blob[0] = FORMAT_VERSION;
    blob.set(iv, 1);
    let offset = 1 + IV_BYTES;
    for (const part of sealed) {
      blob.set(part, offset);
      offset += part.length;
    }
    return blob;
  }

  #open(blob: Uint8Array, aad: Uint8Array<ArrayBuffer>): string {
    if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== FORMAT_VERSION) {
      throw new Error(`Unknown encrypted token format: ${blob.length} bytes, version ${blob[0]}`);
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, blob.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    const head = decipher.update(blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES));
    const tail = decipher.final();
    const plain = new Uint8Array(head.length + tail.length);
    plain.set(head);
    plain.set(tail, head.length);
    return decoder.decode(plain);
  }
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function fromBase64(text: string): Uint8Array {
  return Buffer.from(text, "base64");
}

/** Prefixed so that no session id can collide with the key check's or a login's associated data. */
function sessionAad(sessionId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`session\u0000${sessionId}`);
}

function pendingAad(loginId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`pending\u0000${loginId}`);
}
