/**
 * Shared pieces of the stress tests: established sessions, a `status 3` that lists them, and
 * file stores in folders of their own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Secret } from "../../src/config/secret.ts";
import { SqliteStore } from "../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../src/sessions/token_cipher.ts";
import type { Session } from "../../src/sessions/types.ts";
import { testSession } from "../support/client_events_fixture.ts";

export function sessionIdOf(client: number): string {
  return `stress-session-${client}`;
}

export function establishedSession(client: number, now: number): Session {
  const username = `user${client}`;
  return testSession({
    sessionId: sessionIdOf(client),
    cid: client,
    commonName: username,
    username,
    roles: ["vpn-user"],
    claims: { sub: `sub-${client}`, preferred_username: username, groups: ["/vpn-users"] },
    subject: `sub-${client}`,
    refreshToken: `refresh-${client}`,
    createdAt: now,
    lastAuthAt: now,
    expiresAt: now + 12 * 3_600_000,
  });
}

/** What OpenVPN's `status 3` says while clients 0..count-1 are connected with cid = number. */
export function statusWithClients(count: number): string[] {
  const lines = [
    "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu",
    "TIME\t2026-11-28 15:14:48\t1795878888",
    "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
  ];
  for (let cid = 0; cid < count; cid++) {
    lines.push(
      `CLIENT_LIST\tuser${cid}\t10.200.0.2:${40000 + cid}\t10.201.0.${
        (cid % 250) + 2
      }\t\t100\t200\t` +
        `2026-11-28 15:14:40\t1795878880\tUNDEF\t${cid}\t${cid}\tAES-256-GCM`,
    );
  }
  lines.push(
    "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)",
    "GLOBAL_STATS\tMax bcast/mcast queue length\t0",
    "END",
  );
  return lines;
}

/** A file store on `path`, sealed with the stress tests' secret. */
export async function openFileStore(
  path: string,
  maxEntries: number,
  now: () => number,
): Promise<SqliteStore> {
  const cipher = await TokenCipher.fromConfig(
    undefined,
    new Secret("stress-secret-stress-secret-0123"),
  );
  return await SqliteStore.open({ path, cipher, maxEntries, now });
}

/** Runs `body` with a file store in a new folder, then closes the store and removes the folder. */
export async function withFileStore<T>(
  maxEntries: number,
  now: () => number,
  body: (store: SqliteStore) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "stress-store-"));
  try {
    const store = await openFileStore(join(dir, "sessions.sqlite"), maxEntries, now);
    try {
      return await body(store);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
