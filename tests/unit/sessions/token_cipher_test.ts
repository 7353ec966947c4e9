import assert from "node:assert/strict";
import { Secret } from "../../../src/config/secret.ts";
import { parseEncryptionKey, TokenCipher } from "../../../src/sessions/token_cipher.ts";

const BYTES = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const HEX = Array.from(BYTES, (b) => b.toString(16).padStart(2, "0")).join("");
const BASE64 = btoa(String.fromCharCode(...BYTES));

Deno.test("parseEncryptionKey() accepts 64 hex characters in either case", () => {
  assert.deepStrictEqual(parseEncryptionKey(new Secret(HEX)), BYTES);
  assert.deepStrictEqual(parseEncryptionKey(new Secret(HEX.toUpperCase())), BYTES);
});

Deno.test("parseEncryptionKey() accepts 32 bytes as base64, URL-safe or unpadded", () => {
  assert.equal(BASE64.length, 44);
  assert.deepStrictEqual(parseEncryptionKey(new Secret(BASE64)), BYTES);
  assert.deepStrictEqual(parseEncryptionKey(new Secret(`${BASE64}\n`)), BYTES);
  const urlSafe = BASE64.replaceAll("+", "-").replaceAll("/", "_").replace(/=$/, "");
  assert.deepStrictEqual(parseEncryptionKey(new Secret(urlSafe)), BYTES);
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
    assert.throws(() => parseEncryptionKey(new Secret(text)), (error: Error) => {
      assert.match(error.message, /^Invalid sessions\.encryption_key: expected 32 bytes/);
      if (text.length > 0) assert.ok(!error.message.includes(text));
      return true;
    });
  }
});

Deno.test("TokenCipher decrypts what it encrypted, with a fresh IV every time", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const first = await cipher.encryptToken("refresh-τoken", "sess-1");
  const second = await cipher.encryptToken("refresh-τoken", "sess-1");
  assert.notDeepStrictEqual(first, second);
  assert.notDeepStrictEqual(first.slice(1, 13), second.slice(1, 13));
  assert.equal(await cipher.decryptToken(first, "sess-1"), "refresh-τoken");
  assert.equal(await cipher.decryptToken(second, "sess-1"), "refresh-τoken");
});

Deno.test("TokenCipher refuses a ciphertext under another session id", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const blob = await cipher.encryptToken("token", "sess-1");
  await assert.rejects(cipher.decryptToken(blob, "sess-2"), /Refresh token decryption failed/);
});

Deno.test("TokenCipher refuses an altered ciphertext or another key", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const blob = await cipher.encryptToken("token", "sess-1");
  const altered = blob.slice();
  altered[altered.length - 1]! ^= 1;
  await assert.rejects(cipher.decryptToken(altered, "sess-1"), /decryption failed/);
  await assert.rejects(cipher.decryptToken(blob.slice(0, 10), "sess-1"), /decryption failed/);
  const other = await TokenCipher.fromKeyBytes(new Uint8Array(32));
  await assert.rejects(other.decryptToken(blob, "sess-1"), /decryption failed/);
});

Deno.test("TokenCipher.fromConfig() derives the same key from the same http.secret", async () => {
  const a = await TokenCipher.fromConfig(undefined, new Secret("http secret one"));
  const b = await TokenCipher.fromConfig(undefined, new Secret("http secret one"));
  const c = await TokenCipher.fromConfig(undefined, new Secret("http secret two"));
  const blob = await a.encryptToken("token", "s");
  assert.equal(await b.decryptToken(blob, "s"), "token");
  await assert.rejects(c.decryptToken(blob, "s"), /decryption failed/);
});

Deno.test("TokenCipher.fromConfig() prefers sessions.encryption_key over http.secret", async () => {
  const configured = await TokenCipher.fromConfig(new Secret(HEX), new Secret("http"));
  const direct = await TokenCipher.fromKeyBytes(BYTES);
  const derived = await TokenCipher.fromConfig(undefined, new Secret("http"));
  const blob = await configured.encryptToken("token", "s");
  assert.equal(await direct.decryptToken(blob, "s"), "token");
  await assert.rejects(derived.decryptToken(blob, "s"), /decryption failed/);
});

Deno.test("TokenCipher key check matches only the key that made it", async () => {
  const cipher = await TokenCipher.fromKeyBytes(BYTES);
  const check = await cipher.makeKeyCheck();
  assert.equal(await cipher.matchesKeyCheck(check), true);
  assert.equal(
    await (await TokenCipher.fromKeyBytes(new Uint8Array(32))).matchesKeyCheck(check),
    false,
  );
  // A token ciphertext is no key check: the associated data differs.
  assert.equal(await cipher.matchesKeyCheck(await cipher.encryptToken("x", "key-check")), false);
});
