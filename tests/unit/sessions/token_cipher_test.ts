import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { parseEncryptionKey, TokenCipher } from "../../../src/sessions/token_cipher.ts";

const BYTES = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const HEX = Array.from(BYTES, (b) => b.toString(16).padStart(2, "0")).join("");
const BASE64 = btoa(String.fromCharCode(...BYTES));

Deno.test("parseEncryptionKey() accepts 64 hex characters in either case", () => {
  assertEquals(parseEncryptionKey(new Secret(HEX)), BYTES);
  assertEquals(parseEncryptionKey(new Secret(HEX.toUpperCase())), BYTES);
});

Deno.test("parseEncryptionKey() accepts 32 bytes as base64, URL-safe or unpadded", () => {
  assertEquals(BASE64.length, 44);
  assertEquals(parseEncryptionKey(new Secret(BASE64)), BYTES);
  assertEquals(parseEncryptionKey(new Secret(`${BASE64}\n`)), BYTES);
  const urlSafe = BASE64.replaceAll("+", "-").replaceAll("/", "_").replace(/=$/, "");
  assertEquals(parseEncryptionKey(new Secret(urlSafe)), BYTES);
});

Deno.test("parseEncryptionKey() rejects other lengths without echoing the key", () => {
  const wrong = [
    HEX.slice(2),
    `${HEX}00`,
    btoa("sixteen byte key"),
    btoa("x".repeat(48)),
    "correct horse battery staple",
    "",
  ];
  for (const text of wrong) {
    const error = assertThrows(
      () => parseEncryptionKey(new Secret(text)),
      Error,
      /^Invalid sessions\.encryption_key: expected 32 bytes/,
    );
    if (text.length > 0) assert(!error.message.includes(text));
  }
});

Deno.test("TokenCipher decrypts what it encrypted, with a fresh IV every time", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const first = await cipher.encryptToken("refresh-τoken", "sess-1");
  const second = await cipher.encryptToken("refresh-τoken", "sess-1");
  assertNotEquals(first, second);
  assertNotEquals(first.slice(1, 13), second.slice(1, 13));
  assertEquals(await cipher.decryptToken(first, "sess-1"), "refresh-τoken");
  assertEquals(await cipher.decryptToken(second, "sess-1"), "refresh-τoken");
});

Deno.test("TokenCipher refuses a ciphertext under another session id", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const blob = await cipher.encryptToken("token", "sess-1");
  await assertRejects(
    () => cipher.decryptToken(blob, "sess-2"),
    Error,
    /Refresh token decryption failed/,
  );
});

Deno.test("TokenCipher refuses an altered ciphertext or another key", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const blob = await cipher.encryptToken("token", "sess-1");
  const altered = blob.slice();
  altered[altered.length - 1]! ^= 1;
  await assertRejects(() => cipher.decryptToken(altered, "sess-1"), Error, /decryption failed/);
  await assertRejects(
    () => cipher.decryptToken(blob.slice(0, 10), "sess-1"),
    Error,
    /decryption failed/,
  );
  const other = await TokenCipher.fromKeyBytes(new Uint8Array(32));
  await assertRejects(() => other.decryptToken(blob, "sess-1"), Error, /decryption failed/);
});

Deno.test("TokenCipher.fromConfig() derives the same key from the same http.secret", async () => {
  const a = await TokenCipher.fromConfig(undefined, new Secret("http secret one"));
  const b = await TokenCipher.fromConfig(undefined, new Secret("http secret one"));
  const c = await TokenCipher.fromConfig(undefined, new Secret("http secret two"));
  const blob = await a.encryptToken("token", "s");
  assertEquals(await b.decryptToken(blob, "s"), "token");
  await assertRejects(() => c.decryptToken(blob, "s"), Error, /decryption failed/);
});

Deno.test("TokenCipher.fromConfig() prefers sessions.encryption_key over http.secret", async () => {
  const configured = await TokenCipher.fromConfig(new Secret(HEX), new Secret("http"));
  const direct = await TokenCipher.fromKeyBytes(BYTES);
  const derived = await TokenCipher.fromConfig(undefined, new Secret("http"));
  const blob = await configured.encryptToken("token", "s");
  assertEquals(await direct.decryptToken(blob, "s"), "token");
  await assertRejects(() => derived.decryptToken(blob, "s"), Error, /decryption failed/);
});

Deno.test("TokenCipher key check matches only the key that made it", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const check = await cipher.makeKeyCheck();
  assertEquals(await cipher.matchesKeyCheck(check), true);
  assertEquals(
    await (await TokenCipher.fromKeyBytes(new Uint8Array(32))).matchesKeyCheck(check),
    false,
  );
  // A token ciphertext is no key check: the associated data differs.
  assertEquals(
    await cipher.matchesKeyCheck(await cipher.encryptToken("x", "key-check")),
    false,
  );
});

Deno.test("TokenCipher: a session's token is sealed in a domain of its own, so a session id never names the key check's or a login's data", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  // Were a session's associated data its bare id, these ids would open the other blobs.
  await assertRejects(
    async () => cipher.decryptToken(await cipher.makeKeyCheck(), "key-check"),
    Error,
    /Refresh token decryption failed/,
  );
  await assertRejects(
    async () =>
      cipher.decryptToken(await cipher.encryptPendingSecrets("secrets", "p-1"), "pending\0p-1"),
    Error,
    /Refresh token decryption failed/,
  );
});

Deno.test("TokenCipher: a login's sealed secrets never open as a session's token of the same id", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  // An entry copied between a login and a session under one id: each domain refuses the other's.
  await assertRejects(
    async () => cipher.decryptToken(await cipher.encryptPendingSecrets("secrets", "id-1"), "id-1"),
    Error,
    /Refresh token decryption failed/,
  );
  await assertRejects(
    async () => cipher.decryptPendingSecrets(await cipher.encryptToken("token", "id-1"), "id-1"),
    Error,
    /Pending login decryption failed/,
  );
});

/** Made by this version from http.secret "http secret one": token "refresh-token" of "sess-1". */
const STORED_V1 =
  "01480b8c1d587fb7f99b19aa8984817394162f941eb624a02df6ebe59b5c6756896ea3d752fc6262f1ef";

Deno.test("TokenCipher.fromConfig() still opens a token stored before: the key derived from http.secret and the format stay", async () => {
  // A change to the derivation (salt, info) or the layout would make every stored token, and the
  // store's key check, unreadable after an upgrade: every bridge refused at start.
  const cipher = await TokenCipher.fromConfig(undefined, new Secret("http secret one"));
  const stored = Uint8Array.from(STORED_V1.match(/../g)!, (hex) => parseInt(hex, 16));
  assertEquals(await cipher.decryptToken(stored, "sess-1"), "refresh-token");
});

Deno.test("TokenCipher refuses a blob of another format version", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const blob = await cipher.encryptToken("token", "sess-1");
  // The version byte is outside the tag: only the check of it refuses the blob.
  blob[0] = 2;
  await assertRejects(() => cipher.decryptToken(blob, "sess-1"), Error, /decryption failed/);
});

Deno.test("TokenCipher.fromKeyBytes() refuses a key of another length at once", async () => {
  for (const length of [0, 16, 31, 33]) {
    await assertRejects(
      () => TokenCipher.fromKeyBytes(new Uint8Array(length)),
      Error,
      `Invalid token encryption key: expected 32 bytes, got ${length}`,
    );
  }
});
