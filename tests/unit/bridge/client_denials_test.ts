/**
 * Every way a CONNECT or REAUTH is refused before anyone signs in (the decision table, or an
 * unreachable store): the exact refusal (`client-deny`, or HALT: refusal.ts), log line, audit
 * line and counts of each.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  type Denial,
  INTERNAL_ERROR,
  MALFORMED_REQUEST,
  STORE_UNAVAILABLE,
} from "../../../src/bridge/denial.ts";
import { words } from "../../../src/log.ts";
import type { Metrics, ServerMetrics } from "../../../src/metrics/port.ts";
import { KnownSessions } from "../../../src/sessions/known_sessions.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0 as T0,
  switchableStore,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { wireOf } from "../../support/recording_commander.ts";

const HOUR = 3_600_000;

/** Counts as `server event answer` and `denial code` lines. */
function recordingMetrics(counted: string[]): Metrics {
  const server = (name: string): ServerMetrics => ({
    login: (result) => counted.push(`${name} login ${result}`),
    clientEvent: (event, answer) => counted.push(`${name} ${event} ${answer}`),
    managementReconnect: () => counted.push(`${name} reconnect`),
    denial: (code) => counted.push(`denial ${code}`),
  });
  return {
    server,
    denial: (code) => counted.push(`denial ${code}`),
    idpRequest: () => {},
    managementCommand: () => {},
  };
}

interface Case {
  /** Changes to alice's stored session. */
  session?: Partial<Session>;
  /** Moves the clock this far after storing alice's session s-1 (bound to cid 4). */
  advance?: number;
  /** The store is unreachable when the event comes (store_unreachable = "allow"). */
  storeDown?: boolean;
  kind: "connect" | "reauth";
  cid: number;
  kid: number;
  env: Record<string, string>;
}

/** What one refused event produced. */
async function denialOf(c: Case) {
  const clock = new FakeClock(T0);
  const { store: flaky, state } = switchableStore(
    new MemoryStore({ maxEntries: 100, now: clock.now }),
  );
  const known = new KnownSessions(100);
  const store = known.watch(flaky);
  const counted: string[] = [];
  const { events, commander } = testClientEvents({
    store,
    clock,
    storeUnreachable: "allow",
    knownSessions: known,
    metrics: recordingMetrics(counted),
  });
  await store.putSession(testSession(c.session));
  clock.advance(c.advance ?? 0);
  state.down = c.storeDown ?? false;
  const env = testEnv({ untrusted_ip: "198.51.100.7", ...c.env });
  const lines = await logsOf(() =>
    c.kind === "connect" ? events.onConnect(c.cid, c.kid, env) : events.onReauth(c.cid, c.kid, env)
  );
  events.close();
  const wire = commander.commands.map(wireOf);
  const log = lines.filter((line) => line.category !== "audit")
    .map(({ level, text, properties }) => ({ level, text, properties }));
  const audit = lines.filter((line) => line.category === "audit").map((line) => line.text);
  return { wire, log, audit, counted };
}

const NO_WEBAUTH = "client does not support web authentication (IV_SSO lacks webauth)";
const TOO_OLD = "client too old for web authentication (IV_VER before 2.5 sends no IV_SSO)";
const UNREACHABLE = "session store unreachable";
const NO_SESSION = "no session for this client";
const TOKEN_EXPIRED = "session token expired (session_state Expired)";
const TOKEN_INVALID = "session token invalid (session_state Invalid)";
const UNKNOWN_STATE = "session token refused (unknown session_state)";
const TOKEN_ENDS = "OpenVPN refused its client's token at a renegotiation (expired or invalid) " +
  "and never takes that token again, so nobody can resume it";
const ERROR = "Session store unreachable: test";
/** ERROR after a denial's reason it begins with: the line says that reason once. */
const ERROR_AFTER_UNREACHABLE = "test";
const ALICE = "alice (subject u-1) on default";

/** What the sentence calls a request the decision table refused (no session resumed). */
const REQUEST = { connect: "CONNECT", reauth: "REAUTH" } as const;

/** The info line of a decision-table denial: by its certificate, before anyone signed in. */
const tableLine = (kind: "connect" | "reauth", cid: number, kid: number, reason: string) => ({
  level: "info",
  text: `${REQUEST[kind]} on cid ${cid} (certificate alice) denied: ${reason}`,
  properties: {
    server: "default",
    cid,
    kid,
    commonName: "alice",
    kind,
    request: words(REQUEST[kind]),
    reason: words(reason),
  },
});
/** The warning of a denial while the store could not be asked, and the store's `error`. */
const outageLine = (kind: "connect" | "reauth", cid: number, reason: string, error: string) => ({
  level: "warning",
  text: `${REQUEST[kind]} on cid ${cid} (certificate alice) denied: ${reason}: ${error}`,
  properties: {
    server: "default",
    cid,
    commonName: "alice",
    kind,
    request: words(REQUEST[kind]),
    error,
    reason: words(reason),
  },
});

const CASES: Array<[string, Case, Awaited<ReturnType<typeof denialOf>>]> = [
  [
    "a new client without webauth",
    { kind: "connect", cid: 9, kid: 1, env: { session_id: "s-new", IV_SSO: "openurl" } },
    {
      wire: [
        `client-kill 9 "HALT,Your VPN client cannot do browser sign-in. Update it, ` +
        `or add 'setenv IV_SSO webauth' to its config."`,
      ],
      log: [tableLine("connect", 9, 1, NO_WEBAUTH)],
      audit: [
        `denied on default cid 9, certificate alice, from 198.51.100.7 before anyone signed in: no_webauth`,
      ],
      counted: ["default connect deny", "denial no_webauth"],
    },
  ],
  [
    // OpenVPN 2.4 sends IV_VER but never IV_SSO, whatever its config: the update is the help.
    "a new 2.4 client (no IV_SSO)",
    { kind: "connect", cid: 9, kid: 1, env: { session_id: "s-new", IV_VER: "2.4.12", IV_SSO: "" } },
    {
      wire: [
        `client-kill 9 "HALT,Your VPN client is too old for browser sign-in. ` +
        `Update it to OpenVPN 2.6 or later."`,
      ],
      log: [tableLine("connect", 9, 1, TOO_OLD)],
      audit: [
        `denied on default cid 9, certificate alice, from 198.51.100.7 before anyone signed in: no_webauth`,
      ],
      counted: ["default connect deny", "denial no_webauth"],
    },
  ],
  [
    // 2.5 passes `setenv IV_SSO webauth` on: the config line is the help.
    "a new 2.5 client without webauth",
    {
      kind: "connect",
      cid: 9,
      kid: 1,
      env: { session_id: "s-new", IV_VER: "2.5.11", IV_SSO: "openurl,crtext" },
    },
    {
      wire: [
        `client-kill 9 "HALT,Your VPN client cannot do browser sign-in. Update it, ` +
        `or add 'setenv IV_SSO webauth' to its config."`,
      ],
      log: [tableLine("connect", 9, 1, NO_WEBAUTH)],
      audit: [
        `denied on default cid 9, certificate alice, from 198.51.100.7 before anyone signed in: no_webauth`,
      ],
      counted: ["default connect deny", "denial no_webauth"],
    },
  ],
  [
    // Nobody can resume it any more: its session ends too (refused_token_test.ts).
    "a REAUTH whose token OpenVPN rejected as Expired",
    { kind: "reauth", cid: 4, kid: 2, env: { session_state: "Expired" } },
    {
      wire: [
        `client-deny 4 2 "${TOKEN_EXPIRED}" ` +
        `"Your VPN session has expired. Reconnect to sign in again."`,
      ],
      log: [
        {
          level: "debug",
          text: `Session of alice (subject u-1, cid 4) ended, no disconnect sent for its client; ` +
            TOKEN_ENDS,
          properties: {
            username: "alice",
            subject: "u-1",
            cid: 4,
            client: words("no disconnect sent for its client"),
            killed: false,
            why: words(TOKEN_ENDS),
          },
        },
        tableLine("reauth", 4, 2, TOKEN_EXPIRED),
      ],
      audit: [
        `session ended ${ALICE} cid 4, certificate alice: token_refused`,
        `REAUTH denied ${ALICE} cid 4, certificate alice, from 198.51.100.7: session_invalid`,
      ],
      counted: ["default reauth deny", "denial session_invalid"],
    },
  ],
  [
    // Such a state says nothing of who chose its session_id (sessionIdUnverified): it names
    // nobody in the audit line, as an Invalid token's does.
    "a REAUTH in a session_state OpenVPN 2.6 does not send",
    { kind: "reauth", cid: 4, kid: 2, env: { session_state: "Whatever" } },
    {
      wire: [
        `client-deny 4 2 "${UNKNOWN_STATE}" ` +
        `"Your VPN session has expired. Reconnect to sign in again."`,
      ],
      log: [tableLine("reauth", 4, 2, UNKNOWN_STATE)],
      audit: [
        `REAUTH denied on default cid 4, certificate alice, from 198.51.100.7: session_invalid`,
      ],
      counted: ["default reauth deny", "denial session_invalid"],
    },
  ],
  [
    // OpenVPN before 2.6.21 and 2.7.5 passes on the session_id of a token it refused
    // (CVE-2026-13122): the client's choice, so the audit line names nobody by it.
    "a REAUTH whose token OpenVPN refused as Invalid, naming the session_id of alice's session",
    { kind: "reauth", cid: 6, kid: 2, env: { session_state: "Invalid" } },
    {
      wire: [
        `client-deny 6 2 "${TOKEN_INVALID}" ` +
        `"Your VPN session has expired. Reconnect to sign in again."`,
      ],
      log: [tableLine("reauth", 6, 2, TOKEN_INVALID)],
      audit: [
        `REAUTH denied on default cid 6, certificate alice, from 198.51.100.7: session_invalid`,
      ],
      counted: ["default reauth deny", "denial session_invalid"],
    },
  ],
  [
    "a REAUTH on another cid than the session's",
    { kind: "reauth", cid: 6, kid: 1, env: {} },
    {
      wire: [
        `client-deny 6 1 "${NO_SESSION}" "Your VPN session has ended. Reconnect to sign in again."`,
      ],
      log: [tableLine("reauth", 6, 1, NO_SESSION)],
      audit: [
        `REAUTH denied ${ALICE} cid 6, certificate alice, from 198.51.100.7: session_invalid`,
      ],
      counted: ["default reauth deny", "denial session_invalid"],
    },
  ],
  [
    "a REAUTH when the session's lifetime is reached",
    { kind: "reauth", cid: 4, kid: 3, env: {}, advance: HOUR },
    {
      wire: [
        `client-deny 4 3 "session lifetime reached" ` +
        `"Your VPN session has expired. Reconnect to sign in again."`,
      ],
      log: [tableLine("reauth", 4, 3, "session lifetime reached")],
      audit: [
        `REAUTH denied ${ALICE} cid 4, certificate alice, from 198.51.100.7: session_expired`,
      ],
      counted: ["default reauth deny", "denial session_expired"],
    },
  ],
  [
    "a new client's CONNECT while the store is down",
    { kind: "connect", cid: 11, kid: 1, env: { session_id: "s-new" }, storeDown: true },
    {
      wire: [
        `client-deny 11 1 "${UNREACHABLE}" "Sign-in is unavailable right now; try again in a minute."`,
      ],
      log: [outageLine("connect", 11, UNREACHABLE, ERROR_AFTER_UNREACHABLE)],
      audit: [
        `denied on default cid 11, certificate alice, from 198.51.100.7 before anyone signed in: store_unavailable`,
      ],
      counted: ["default connect deny", "denial store_unavailable"],
    },
  ],
  [
    "a reconnect with a token while the store is down",
    { kind: "connect", cid: 10, kid: 1, env: { session_state: "Authenticated" }, storeDown: true },
    {
      wire: [
        `client-deny 10 1 "${UNREACHABLE}" "Sign-in is unavailable right now; try again in a minute."`,
      ],
      log: [outageLine("connect", 10, UNREACHABLE, ERROR_AFTER_UNREACHABLE)],
      audit: [
        `denied on default cid 10, certificate alice, from 198.51.100.7 before anyone signed in: store_unavailable`,
      ],
      counted: ["default connect deny", "denial store_unavailable"],
    },
  ],
  [
    "a REAUTH of a known session on another cid while the store is down",
    { kind: "reauth", cid: 6, kid: 1, env: {}, storeDown: true },
    {
      wire: [
        `client-deny 6 1 "${NO_SESSION}" "Your VPN session has ended. Reconnect to sign in again."`,
      ],
      log: [outageLine("reauth", 6, NO_SESSION, ERROR)],
      audit: [
        `REAUTH denied ${ALICE} cid 6, certificate alice, from 198.51.100.7: session_invalid`,
      ],
      counted: ["default reauth deny", "denial session_invalid"],
    },
  ],
  [
    "a REAUTH of an unknown session while the store is down",
    { kind: "reauth", cid: 7, kid: 1, env: { session_id: "s-unknown" }, storeDown: true },
    {
      wire: [
        `client-deny 7 1 "${UNREACHABLE}" "Sign-in is unavailable right now; try again in a minute."`,
      ],
      log: [outageLine("reauth", 7, UNREACHABLE, ERROR_AFTER_UNREACHABLE)],
      audit: [
        `REAUTH denied on default cid 7, certificate alice, from 198.51.100.7: store_unavailable`,
      ],
      counted: ["default reauth deny", "denial store_unavailable"],
    },
  ],
];

for (const [name, c, expected] of CASES) {
  Deno.test(`denied before sign-in: ${name}: the refusal, log, audit and counts`, async () => {
    assertEquals(await denialOf(c), expected);
  });
}

Deno.test("a REAUTH the current policy refuses: denied naming the user, the session ended", async () => {
  const denied = await denialOf({
    kind: "reauth",
    cid: 4,
    kid: 2,
    env: {},
    session: { claims: { sub: "u-1", preferred_username: "alice", groups: ["/other"] } },
  });
  assertEquals(denied.wire, [
    `client-deny 4 2 "group" "You are not in a group allowed to use this VPN"`,
  ]);
  assertEquals(denied.log.filter((line) => line.level !== "debug"), [{
    level: "info",
    text: "REAUTH of alice (cid 4, certificate alice) denied: group",
    properties: {
      kind: "reauth",
      request: words("REAUTH"),
      username: "alice",
      cid: 4,
      commonName: "alice",
      reason: words("group"),
      denialCode: "group",
      hint: undefined,
    },
  }]);
  assertEquals(denied.audit, [
    `session ended ${ALICE} cid 4, certificate alice: recheck_failed`,
    `REAUTH denied ${ALICE} cid 4, certificate alice, from 198.51.100.7: group`,
  ]);
  assertEquals(denied.counted, ["default reauth deny", "denial group"]);
});

Deno.test("a token reconnect the current policy refuses is denied, not halted: its retry signs in anew", async () => {
  const denied = await denialOf({
    kind: "connect",
    cid: 9,
    kid: 1,
    env: { session_state: "Authenticated" },
    session: { claims: { sub: "u-1", preferred_username: "alice", groups: ["/other"] } },
  });
  assertEquals(denied.wire, [
    `client-deny 9 1 "group" "You are not in a group allowed to use this VPN"`,
  ]);
  assertEquals(denied.counted, ["default connect deny", "denial group"]);
});

/** What a fail-closed denial (ServerLink: handling failed, or a malformed block) produced. */
async function unhandledDenialOf(
  event: { kind: "connect" | "reauth"; env: Record<string, string> } | undefined,
  denial: Denial,
) {
  const counted: string[] = [];
  const { events, commander } = testClientEvents({
    store: new MemoryStore({ maxEntries: 10 }),
    clock: new FakeClock(T0),
    metrics: recordingMetrics(counted),
  });
  const lines = await logsOf(() =>
    events.denyUnhandled(
      event &&
        events.request(event.kind, 6, 2, testEnv({ untrusted_ip: "198.51.100.7", ...event.env })),
      6,
      2,
      denial,
    )
  );
  events.close();
  return {
    wire: commander.commands.map(wireOf),
    audit: lines.filter((line) => line.category === "audit").map((line) => line.text),
    counted,
  };
}

Deno.test("a REAUTH whose handling failed is denied, counted and audited with its client", async () => {
  assertEquals(await unhandledDenialOf({ kind: "reauth", env: {} }, STORE_UNAVAILABLE), {
    wire: [
      `client-deny 6 2 "session store unreachable" "Sign-in is unavailable right now; try again in a minute."`,
    ],
    audit: [
      `REAUTH denied on default cid 6, certificate alice, from 198.51.100.7: store_unavailable`,
    ],
    counted: ["default reauth deny", "denial store_unavailable"],
  });
  assertEquals(
    (await unhandledDenialOf({ kind: "connect", env: {} }, INTERNAL_ERROR)).counted,
    ["default connect deny", "denial internal_error"],
  );
});

Deno.test("a malformed block that names its client is denied, counted and audited without names", async () => {
  const denied = await unhandledDenialOf(undefined, MALFORMED_REQUEST);
  assertEquals(denied.wire.length, 1);
  assert(denied.wire[0]!.startsWith(`client-deny 6 2 "malformed request" `), denied.wire[0]);
  assertEquals(denied.audit, [
    `denied on default cid 6 before anyone signed in: internal_error`,
  ]);
  assertEquals(denied.counted, ["denial internal_error"]);
});
