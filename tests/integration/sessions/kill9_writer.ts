/**
 * Child process of kill9_test.ts: opens the SqliteStore at Deno.args[0] and writes COUNT
 * sessions as fast as it can, printing `ack <sessionId>` only after each put has resolved.
 * After the burst it waits to be killed, so the parent's kill -9 always lands on a live process.
 */
import { Secret } from "../../../src/config/secret.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";

const COUNT = 1_000;
const [path, httpSecret] = Deno.args;
if (path === undefined || httpSecret === undefined) {
  throw new Error("Usage: kill9_writer.ts <path> <http secret>");
}

const store = await SqliteStore.open({
  path,
  cipher: await TokenCipher.deriveFrom(new Secret(httpSecret)),
  maxEntries: 10_000,
});
const encoder = new TextEncoder();
const now = Date.now();
for (let i = 0; i < COUNT; i++) {
  const sessionId = `session-${i}`;
  await store.putSession({
    sessionId,
    server: "vpn1",
    cid: i,
    commonName: `client-${i}`,
    username: `user-${i}`,
    groups: ["vpn-users"],
    roles: [],
    claims: { sub: `subject-${i}`, padding: "x".repeat(512) },
    subject: `subject-${i}`,
    sid: `sid-${i}`,
    refreshToken: `refresh-${i}`,
    refreshExpiresAt: now + 3_600_000,
    resumable: false,
    createdAt: now,
    lastAuthAt: now,
    expiresAt: now + 3_600_000,
  });
  // Unbuffered: the parent sees the ack no earlier than the write was acknowledged.
  Deno.stdout.writeSync(encoder.encode(`ack ${sessionId}\n`));
}
Deno.stdout.writeSync(encoder.encode("done\n"));
setInterval(() => {}, 60_000);
