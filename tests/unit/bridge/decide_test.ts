import { assertEquals } from "../../support/assert.ts";
import {
  type ClientRequest,
  decide,
  type Decision,
  readsSession,
} from "../../../src/bridge/decide.ts";
import {
  CLIENT_TOO_OLD,
  type Denial,
  NO_WEBAUTH,
  SERVER_TOO_OLD,
  SESSION_EXPIRED,
  TOKEN_REFUSED,
  TOKEN_REJECTED,
  UNKNOWN_SESSION,
} from "../../../src/bridge/denial.ts";
import { haltsClient } from "../../../src/bridge/refusal.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { EVENTS_T0, testClientRequest, testSession } from "../../support/client_events_fixture.ts";

const NOW = EVENTS_T0;

/** Alice's session as these tests knew it: no claims kept, no refresh token, a minute old. */
function session(overrides: Partial<Session> = {}): Session {
  return testSession({
    sessionId: "oX2I+yC4LfiB69r8",
    cid: 7,
    claims: {},
    subject: "sub-alice",
    refreshToken: undefined,
    createdAt: NOW - 60_000,
    lastAuthAt: NOW - 60_000,
    ...overrides,
  });
}

function request(overrides: Partial<ClientRequest> = {}): ClientRequest {
  return testClientRequest({ cid: 7, kid: 3, sessionId: "oX2I+yC4LfiB69r8", ...overrides });
}

const options = {
  bypassCommonNames: [/^site-.*$/],
  reauthCheck: "none" as const,
  now: NOW,
  serverSignsIn: true,
};
const deny = (denial: Denial): Decision => ({ action: "deny", denial });

const ROWS: Array<{ name: string; request: ClientRequest; session?: Session; expected: Decision }> =
  [
    {
      name: "REAUTH Initial (certificate-only client) with a matching session -> resume",
      request: request(),
      session: session(),
      expected: { action: "resume", session: session(), refresh: false },
    },
    {
      name: "REAUTH Authenticated (token client) -> resume",
      request: request({ sessionState: "Authenticated" }),
      session: session(),
      expected: { action: "resume", session: session(), refresh: false },
    },
    {
      name: "REAUTH AuthenticatedEmptyUser -> resume",
      request: request({ sessionState: "AuthenticatedEmptyUser" }),
      session: session(),
      expected: { action: "resume", session: session(), refresh: false },
    },
    {
      name: "REAUTH Expired -> deny, ending the client's session",
      request: request({ sessionState: "Expired" }),
      session: session(),
      expected: { action: "deny", denial: TOKEN_REFUSED.get("Expired")!, ends: session() },
    },
    {
      name: "REAUTH Invalid -> deny, ending the client's session",
      request: request({ sessionState: "Invalid" }),
      session: session(),
      expected: { action: "deny", denial: TOKEN_REFUSED.get("Invalid")!, ends: session() },
    },
    {
      name: "REAUTH ExpiredEmptyUser -> deny, ending the client's session",
      request: request({ sessionState: "ExpiredEmptyUser" }),
      session: session(),
      expected: { action: "deny", denial: TOKEN_REFUSED.get("ExpiredEmptyUser")!, ends: session() },
    },
    {
      // The session_id of an Invalid token may be the client's choice (CVE-2026-13122).
      name: "REAUTH Invalid naming a session another cid holds -> deny, that session kept",
      request: request({ sessionState: "Invalid", cid: 6 }),
      session: session(),
      expected: deny(TOKEN_REFUSED.get("Invalid")!),
    },
    {
      name: "REAUTH with an unrecognised session_state -> deny",
      request: request({ sessionState: "Whatever" }),
      session: session(),
      expected: deny(TOKEN_REJECTED),
    },
    {
      name: "REAUTH for an unknown session -> deny",
      request: request(),
      expected: deny(UNKNOWN_SESSION),
    },
    {
      name: "REAUTH from another cid than the session's -> deny",
      request: request({ cid: 8 }),
      session: session(),
      expected: deny(UNKNOWN_SESSION),
    },
    {
      name: "REAUTH with another common name than the session's -> deny",
      request: request({ commonName: "mallory" }),
      session: session(),
      expected: deny(UNKNOWN_SESSION),
    },
    {
      name: "REAUTH past the session lifetime -> deny",
      request: request(),
      session: session({ expiresAt: NOW }),
      expected: deny(SESSION_EXPIRED),
    },
    {
      name: "REAUTH never starts a browser login, even without a session",
      request: request({ sessionState: "Initial", ivSso: "webauth" }),
      expected: deny(UNKNOWN_SESSION),
    },
    {
      name: "CONNECT Authenticated with a valid session (reconnect) -> resume on the new cid",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "Authenticated" }),
      session: session({ cid: undefined }),
      expected: { action: "resume", session: session({ cid: undefined }), refresh: false },
    },
    {
      name: "CONNECT AuthenticatedEmptyUser with a valid session -> resume",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "AuthenticatedEmptyUser" }),
      session: session(),
      expected: { action: "resume", session: session(), refresh: false },
    },
    {
      name: "CONNECT Authenticated with an expired session -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "Authenticated" }),
      session: session({ expiresAt: NOW - 1 }),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT Initial -> browser login even when a session exists",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "Initial" }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT Expired token -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "Expired" }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT from a client without webauth -> deny with an actionable reason",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "openurl,crtext" }),
      expected: deny(NO_WEBAUTH),
    },
    {
      name: "CONNECT from a 2.4 client (no IV_SSO at all) -> deny, telling it to update",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "", ivVer: "2.4.12" }),
      expected: deny(CLIENT_TOO_OLD),
    },
    {
      name: "CONNECT from a 2.5 client without webauth -> deny, naming the config line",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "openurl", ivVer: "2.5.11" }),
      expected: deny(NO_WEBAUTH),
    },
    {
      name: "CONNECT without webauth nor IV_VER -> deny, naming the config line",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "", ivVer: "" }),
      expected: deny(NO_WEBAUTH),
    },
    {
      name: "CONNECT with webauth from a client saying 2.4 -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "webauth", ivVer: "2.4.12" }),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT with IV_SSO listing webauth among others -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "openurl,webauth,crtext" }),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT with IV_SSO 'webauthx' is not webauth",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "webauthx" }),
      expected: deny(NO_WEBAUTH),
    },
    {
      name: "CONNECT with IV_SSO 'xwebauth,openurl' is not webauth",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: "xwebauth,openurl" }),
      expected: deny(NO_WEBAUTH),
    },
    {
      name: "CONNECT with IV_SSO ' openurl , webauth ' (items trimmed) -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, ivSso: " openurl , webauth " }),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT of a bypassed common name -> bypass, even without webauth",
      request: request({ kind: "connect", commonName: "site-berlin", ivSso: "" }),
      expected: { action: "bypass" },
    },
    {
      name: "REAUTH of a bypassed common name -> bypass",
      request: request({ commonName: "site-berlin" }),
      expected: { action: "bypass" },
    },
    {
      name: "REAUTH on another server with the same cid as the session -> deny",
      request: request({ server: "tcp", sessionState: "Authenticated" }),
      session: session(),
      expected: deny(UNKNOWN_SESSION),
    },
    {
      name: "CONNECT Authenticated on another server (shared token secret) -> resume",
      request: request({ kind: "connect", server: "tcp", cid: 2, sessionState: "Authenticated" }),
      session: session(),
      expected: { action: "resume", session: session(), refresh: false },
    },
    // OpenVPN's token is not bound to the certificate: a token reconnect resumes a session only
    // for the common name it was signed in with; any other certificate signs in afresh.
    {
      name: "CONNECT Authenticated with another common name than the session's -> browser login",
      request: request({
        kind: "connect",
        cid: 9,
        kid: 1,
        sessionState: "Authenticated",
        commonName: "mallory",
      }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT AuthenticatedEmptyUser with another common name -> browser login",
      request: request({
        kind: "connect",
        cid: 9,
        kid: 1,
        sessionState: "AuthenticatedEmptyUser",
        commonName: "mallory",
      }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT Authenticated with a common name differing only in case -> browser login",
      request: request({
        kind: "connect",
        cid: 9,
        kid: 1,
        sessionState: "Authenticated",
        commonName: "Alice",
      }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT Authenticated with another common name, without webauth -> deny, not resume",
      request: request({
        kind: "connect",
        cid: 9,
        kid: 1,
        sessionState: "Authenticated",
        commonName: "mallory",
        ivSso: "openurl",
      }),
      session: session(),
      expected: deny(NO_WEBAUTH),
    },
    {
      name:
        "CONNECT Authenticated with an empty common name, the session having one -> browser login",
      request: request({
        kind: "connect",
        cid: 9,
        kid: 1,
        sessionState: "Authenticated",
        commonName: "",
      }),
      session: session(),
      expected: { action: "start_login" },
    },
    {
      name: "CONNECT Authenticated with a common name, the session having none -> browser login",
      request: request({ kind: "connect", cid: 9, kid: 1, sessionState: "Authenticated" }),
      session: session({ commonName: "" }),
      expected: { action: "start_login" },
    },
    {
      name: "REAUTH with an empty common name, the session having one -> deny",
      request: request({ commonName: "" }),
      session: session(),
      expected: deny(UNKNOWN_SESSION),
    },
  ];

for (const row of ROWS) {
  Deno.test(`decide(): ${row.name}`, () => {
    assertEquals(decide(row.request, row.session, options), row.expected);
  });
}

Deno.test("decide() answers without the stored session wherever readsSession() says it does not read it", () => {
  let skipped = 0;
  for (const row of ROWS) {
    for (const stored of [row.session, session(), session({ commonName: "mallory" }), undefined]) {
      if (readsSession(row.request, options.bypassCommonNames)) continue;
      skipped++;
      assertEquals(
        decide(row.request, stored, options),
        decide(row.request, undefined, options),
        row.name,
      );
    }
  }
  // Rows of new clients' CONNECTs exist, so the check above is not empty.
  assertEquals(skipped > 8, true, `${skipped} checks`);
  const reads = (overrides: Partial<ClientRequest>) =>
    readsSession(request(overrides), options.bypassCommonNames);
  assertEquals(reads({ kind: "reauth", sessionState: "Initial" }), true);
  assertEquals(reads({ kind: "connect", sessionState: "Authenticated" }), true);
  assertEquals(reads({ kind: "connect", sessionState: "Initial" }), false);
  // A bypassed common name is answered without its session.
  assertEquals(reads({ kind: "reauth", sessionState: "Initial", commonName: "site-a" }), false);
  assertEquals(
    reads({ kind: "connect", sessionState: "Authenticated", commonName: "site-a" }),
    false,
  );
});

Deno.test("decide() asks for a refresh check on resume when reauth_check is refresh", () => {
  const decision = decide(request(), session(), { ...options, reauthCheck: "refresh" });
  assertEquals(decision, { action: "resume", session: session(), refresh: true });
});

Deno.test("decide(): on a server too old for browser sign-in every new client is stopped with that reason; bypass, reconnects and REAUTHs are answered as before", () => {
  const old = { ...options, serverSignsIn: false };
  for (const row of ROWS) {
    const before = decide(row.request, row.session, options);
    const expected = before.action === "start_login" ||
        (before.action === "deny" && row.request.kind === "connect")
      ? deny(SERVER_TOO_OLD)
      : before;
    assertEquals(decide(row.request, row.session, old), expected, row.name);
  }
  // Stopped with HALT: no retry of that client helps.
  assertEquals(haltsClient(SERVER_TOO_OLD, true), true);
});
