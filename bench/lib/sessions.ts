/**
 * Established sessions shaped like the ones a Keycloak login leaves behind (Keycloak-sized
 * refresh token, the claims the policy keeps), keyed like the blocks of client_env.ts.
 */
import type { Session, SessionStore } from "../../src/sessions/types.ts";
import { benchClientIp, benchCommonName, benchSessionId } from "./client_env.ts";

const HOUR_MS = 3_600_000;

const TOKEN_HEADER = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.";
const TOKEN_FILLER = "xQ7vK2mN9pL4rT8w";
const tokenBytes = new Uint8Array(TOKEN_HEADER.length + 780);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
encoder.encodeInto(TOKEN_HEADER.padEnd(tokenBytes.length, TOKEN_FILLER), tokenBytes);

/**
 * A Keycloak refresh token is a JWT of roughly 700-900 characters. It is decoded from bytes,
 * as a token response's body is, so that it is one flat string of its own: built by
 * concatenation and padEnd, V8 keeps it as a rope whose filler all tokens share, and a session
 * looked ~500 B cheaper on Deno than one from a real login.
 */
function refreshTokenFor(client: number): string {
  const id = `${client.toString(36)}.`;
  encoder.encodeInto(id, tokenBytes.subarray(TOKEN_HEADER.length));
  const token = decoder.decode(tokenBytes);
  // Put the filler back where a longer id wrote over it.
  encoder.encodeInto(TOKEN_FILLER.slice(0, id.length), tokenBytes.subarray(TOKEN_HEADER.length));
  return token;
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
    clientIp: benchClientIp(client),
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
