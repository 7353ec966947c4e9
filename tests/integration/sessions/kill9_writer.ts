/**
 * Child process of kill9_test.ts: opens the SqliteStore at Deno.args[0] and writes sessions as
 * fast as it can, printing `ack <sessionId>` only after each put has resolved.
 * With each session it puts PENDING_PER_SESSION pending logins at once (written in one batch
 * transaction), printing `ack-pending <id>` as each of those puts resolves.
 * COUNT is far more than the parent waits for (it kills after a few hundred acks), so the kill
 * lands in the middle of the writes however slowly the parent reads; should the writer ever get
 * to the end, it says `done` and waits to be killed.
 */
import { Secret } from "../../../src/config/secret.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";

const COUNT = 100_000;
const PENDING_PER_SESSION = 3;
const [path, httpSecret] = Deno.args;
if (path === undefined || httpSecret === undefined) {
  throw new Error("Usage: kill9_writer.ts <path> <http secret>");
}

const store = await SqliteStore.open({
  path,
  cipher: await TokenCipher.deriveFrom(new Secret(httpSecret)),
  maxEntries: (PENDING_PER_SESSION + 1) * COUNT,
});
const encoder = new TextEncoder();
const now = Date.now();
function ack(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}
function putPending(id: string, cid: number): Promise<void> {
  return store.putPending({
    id,
    server: "vpn1",
    cid,
    kid: 1,
    commonName: `client-${cid}`,
    username: "",
    clientIp: "192.0.2.1",
    clientPort: 1194,
    platform: "linux",
    clientVersion: "2.6.14",
    sessionId: "",
    createdAt: now,
    expiresAt: now + 3_600_000,
    oauth: undefined,
  }).then(() => ack(`ack-pending ${id}`));
}
for (let i = 0; i < COUNT; i++) {
  const sessionId = `session-${i}`;
  const logins = Array.from(
    { length: PENDING_PER_SESSION },
    (_, n) => putPending(`login-${i}-${n}`, 10_000 + i),
  );
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
  ack(`ack ${sessionId}`);
  await Promise.all(logins);
}
Deno.stdout.writeSync(encoder.encode("done\n"));
setInterval(() => {}, 60_000);
