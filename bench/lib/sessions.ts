/**
 * Established sessions shaped like the ones a Keycloak login leaves behind (Keycloak-sized
 * refresh token, the claims the policy keeps), keyed like the blocks of client_env.ts.
 */
import type { Session, SessionStore } from "../../src/sessions/types.ts";
import { benchCommonName, benchSessionId } from "./client_env.ts";

const HOUR_MS = 3_600_000;

/** A Keycloak refresh token is a JWT of roughly 700-900 characters. */
function refreshTokenFor(client: number): string {
  const body = `${client.toString(36)}.`.padEnd(780, "xQ7vK2mN9pL4rT8w");
  return `eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.${body}`;
}

/** The session of bench client `client`, bound to cid `cid` (undefined: disconnected). */
export function benchSession(client: number, cid: number | undefined, now: number): Session {
  const username = benchCommonName(client);
  const subject = `5f0c8a1e-${client.toString(16).padStart(4, "0")}-4c2b-9d3e-7a1b2c3d4e5f`;
  return {
    sessionId: benchSessionId(client),
    server: "default",
    cid,
    commonName: username,
    username,
    groups: ["/vpn-users"],
    roles: ["vpn-user", "offline_access", "uma_authorization"],
    claims: {
      sub: subject,
      preferred_username: username,
      groups: ["/vpn-users"],
      realm_access: { roles: ["vpn-user", "offline_access", "uma_authorization"] },
    },
    subject,
    sid: `c3f9a2b1-${client.toString(16).padStart(4, "0")}-4e5f-8a9b-0c1d2e3f4a5b`,
    refreshToken: refreshTokenFor(client),
    refreshExpiresAt: now + 30 * 60_000,
    resumable: cid === undefined,
    createdAt: now,
    lastAuthAt: now,
    expiresAt: now + 12 * HOUR_MS,
  };
}

/** Puts sessions for clients [from, to) through the store API; cids bound while `client < bound`. */
export async function fillStore(
  store: SessionStore,
  from: number,
  to: number,
  bound: number,
  now = Date.now(),
): Promise<void> {
  for (let client = from; client < to; client++) {
    await store.putSession(benchSession(client, client < bound ? client : undefined, now));
  }
}

/**
 * fillStore with up to `window` puts in flight: a shared store (Redis) answers each put over
 * the network, so one at a time would spend most of a million puts waiting for round trips.
 * Every session still goes through the store's own checks, codec and scripts.
 */
export async function fillStoreConcurrently(
  store: SessionStore,
  count: number,
  bound: number,
  window = 1000,
  now = Date.now(),
): Promise<void> {
  for (let from = 0; from < count; from += window) {
    const puts: Array<Promise<void>> = [];
    for (let client = from; client < Math.min(count, from + window); client++) {
      puts.push(store.putSession(benchSession(client, client < bound ? client : undefined, now)));
    }
    await Promise.all(puts);
  }
}
