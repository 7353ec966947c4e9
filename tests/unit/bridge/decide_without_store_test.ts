import { assertEquals } from "../../support/assert.ts";
import type { ClientRequest } from "../../../src/bridge/decide.ts";
import { decideWithoutStore } from "../../../src/bridge/decide_without_store.ts";
import {
  SESSION_EXPIRED,
  STORE_UNAVAILABLE,
  TOKEN_REFUSED,
  UNKNOWN_SESSION,
} from "../../../src/bridge/denial.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { EVENTS_T0, testClientRequest, testSession } from "../../support/client_events_fixture.ts";

const NOW = EVENTS_T0;
const KNOWN: Session = testSession({
  sessionId: "oX2I+yC4LfiB69r8",
  server: "udp",
  cid: 7,
  groups: [],
  claims: {},
  subject: "sub-alice",
  refreshToken: undefined,
  resumable: true,
  createdAt: NOW - 60_000,
  lastAuthAt: NOW - 60_000,
});

function request(overrides: Partial<ClientRequest> = {}): ClientRequest {
  return testClientRequest({
    server: "udp",
    cid: 7,
    kid: 3,
    sessionId: KNOWN.sessionId,
    ...overrides,
  });
}

const options = { bypassCommonNames: [/^monitor$/], now: NOW, serverSignsIn: true };
const unavailable = { action: "deny", denial: STORE_UNAVAILABLE };

const CASES: Array<[string, ClientRequest, Session | undefined, unknown]> = [
  ["a REAUTH matching the known session is accepted on it", request(), KNOWN, {
    action: "accept_known",
    session: KNOWN,
  }],
  [
    "a REAUTH without a known session is denied: store unreachable",
    request(),
    undefined,
    unavailable,
  ],
  ["a REAUTH on another server is denied as unknown", request({ server: "tcp" }), KNOWN, {
    action: "deny",
    denial: UNKNOWN_SESSION,
  }],
  [
    // Nothing is ended while the store cannot be reached.
    "a REAUTH with a rejected token is denied as such",
    request({ sessionState: "Invalid" }),
    KNOWN,
    {
      action: "deny",
      denial: TOKEN_REFUSED.get("Invalid")!,
    },
  ],
  ["a REAUTH after the session's end is denied as expired", request(), {
    ...KNOWN,
    expiresAt: NOW,
  }, { action: "deny", denial: SESSION_EXPIRED }],
  [
    "a CONNECT is denied even with a known session and a valid token",
    request({
      kind: "connect",
      sessionState: "Authenticated",
    }),
    KNOWN,
    unavailable,
  ],
  [
    "a bypassed common name is accepted without the store",
    request({
      kind: "connect",
      commonName: "monitor",
    }),
    undefined,
    { action: "bypass" },
  ],
];

for (const [name, req, known, expected] of CASES) {
  Deno.test(`decideWithoutStore(): ${name}`, () => {
    assertEquals(decideWithoutStore(req, known, options), expected);
  });
}
