/**
 * Shared test wiring for the bridge's event handling: a policy that admits `/vpn-users`, alice's
 * session and client ENV, the admission step with a scripted IdP, and a ClientEvents over a
 * given store with a recording commander.
 */
import { Admission } from "../../src/bridge/admission.ts";
import type { AdmissionDeps } from "../../src/bridge/admission_types.ts";
import { ClientEvents } from "../../src/bridge/client_events.ts";
import type { ClientCommander, CommanderLookup } from "../../src/bridge/commander.ts";
import { KeyedLock } from "../../src/bridge/keyed_lock.ts";
import { SessionEnd } from "../../src/bridge/session_end.ts";
import { UnstoredRefreshTokens } from "../../src/bridge/unstored_refresh_tokens.ts";
import type { Clock } from "../../src/clock.ts";
import type { ClientRequest } from "../../src/bridge/decide.ts";
import type { PolicyConfig } from "../../src/bridge/identity_policy.ts";
import type { UsernamePolicy } from "../../src/bridge/username_policy.ts";
import type { FinishedLogin } from "../../src/bridge/login_session.ts";
import { getLogger } from "../../src/log.ts";
import type { Metrics } from "../../src/metrics/port.ts";
import type { RefreshResult } from "../../src/oidc/client.ts";
import type { KnownSessions } from "../../src/sessions/known_sessions.ts";
import { StoreUnavailableError } from "../../src/sessions/store_unavailable.ts";
import type { PendingLogin, Session, SessionStore } from "../../src/sessions/types.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "./client_certificate.ts";
import { RecordingCommander } from "./recording_commander.ts";

/**
 * Lets what a fired deadline started (a store call, then a command) run to its end: ten turns
 * of the microtask queue, with no timer involved.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** The clock of the event tests. */
export const EVENTS_T0 = 1_800_000_000_000;

/** Alice's session on cid 4, admitted by TEST_POLICY, with a refresh token. */
export function testSession(overrides: Partial<Session> = {}): Session {
  return {
    sessionId: "s-1",
    server: "default",
    cid: 4,
    commonName: "alice",
    username: "alice",
    groups: ["/vpn-users"],
    roles: [],
    claims: { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] },
    subject: "u-1",
    sid: undefined,
    refreshToken: "rt-1",
    refreshExpiresAt: undefined,
    resumable: false,
    createdAt: EVENTS_T0,
    lastAuthAt: EVENTS_T0,
    expiresAt: EVENTS_T0 + 3_600_000,
    ...overrides,
  };
}

/**
 * Alice's sign-in, pending on cid 4 of the default server for three minutes, not yet sent to
 * the IdP (no OAuth state).
 */
export function testPendingLogin(overrides: Partial<PendingLogin> = {}): PendingLogin {
  return {
    id: "AAAAAAAAAAAAAAAAAAAAAA",
    server: "default",
    cid: 4,
    kid: 1,
    commonName: "alice",
    username: "",
    clientIp: "198.51.100.7",
    clientPort: 50000,
    platform: "linux",
    clientVersion: "2.6.14",
    sessionId: "s-1",
    createdAt: EVENTS_T0,
    expiresAt: EVENTS_T0 + 180_000,
    oauth: undefined,
    ...overrides,
  };
}

/**
 * `login`'s sign-in finished at the IdP, as the callback hands it to admitLogin(): by default
 * as alice (testSession()'s claims) with refresh token rt-1 and no expiry given; `result`
 * overrides.
 */
export function testFinishedLogin(
  login: PendingLogin,
  result: Partial<FinishedLogin["result"]> = {},
): FinishedLogin {
  return {
    client: {
      ...login,
      kind: "login",
      signIn: { loginId: login.id, openvpnRun: login.openvpnRun },
    },
    sessionId: login.sessionId,
    result: {
      claims: { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] },
      subject: "u-1",
      sid: undefined,
      refreshToken: "rt-1",
      refreshExpiresAt: undefined,
      idToken: "x",
      ...result,
    },
  };
}

/** A REAUTH of alice's client on session s-1 (a certificate-only 2.6 client), with overrides. */
export function testClientRequest(overrides: Partial<ClientRequest> = {}): ClientRequest {
  return {
    kind: "reauth",
    server: "default",
    cid: 4,
    kid: 1,
    commonName: "alice",
    username: "",
    sessionId: "s-1",
    sessionState: "Initial",
    ivSso: "webauth",
    ivVer: "2.6.14",
    ...overrides,
  };
}

/**
 * The ENV of alice's client on session s-1 (a certificate-only 2.6 client: `tls_serial_0` says it
 * presented a certificate, certificate_name.ts), with overrides.
 */
export function testEnv(values: Record<string, string>): Map<string, string> {
  return new Map(Object.entries({
    common_name: "alice",
    tls_serial_0: CLIENT_CERTIFICATE_SERIAL,
    session_id: "s-1",
    session_state: "Initial",
    IV_SSO: "webauth",
    ...values,
  }));
}

/** Members of `/vpn-users` may connect; no client config lines. */
export const TEST_POLICY: PolicyConfig = {
  oidc: { usernameClaim: "preferred_username", groupsClaim: "groups", rolesClaim: undefined },
  authorization: {
    allowedGroups: ["/vpn-users"],
    allowedRoles: [],
    requiredClaims: {},
    commonNameClaim: undefined,
  },
  clientConfig: [],
};

export interface TestClientEventsOptions {
  store: SessionStore;
  /** Where the events' own commands go (a real management link); recorded when left out. */
  eventsCommander?: ClientCommander;
  /** The OpenVPN server the events come from; `default` unless given. */
  server?: string;
  /** The policy of that server; TEST_POLICY unless given. */
  policy?: PolicyConfig;
  /** Default `empty_or_match`. */
  usernamePolicy?: UsernamePolicy;
  /** Usually a FakeClock: pending-login deadlines fire when the test advances it. */
  clock: Clock;
  authPendingTimeoutMs?: number;
  /** `openvpn.max_pending_per_address`; 0 (no cap) unless given. */
  maxPendingPerAddress?: number;
  /** `openvpn.bypass_common_names`; none unless given. */
  bypassCommonNames?: RegExp[];
  reauthCheck?: "none" | "refresh";
  /** `sessions.recheck_interval`; none unless given. */
  recheckIntervalMs?: number;
  idpUnreachable?: "deny" | "allow";
  storeUnreachable?: "deny" | "allow";
  /** What the events fall back on while the store is unreachable. */
  knownSessions?: KnownSessions;
  /** The IdP's answer to a refresh grant; by default the test fails if one is made. */
  refresh?: (refreshToken: string, subject: string) => Promise<RefreshResult>;
  /** The IdP's answer to a revocation (the token is recorded either way); by default at once. */
  revoke?: (refreshToken: string) => Promise<void>;
  /** Login ids to hand out; by default numbered ids shaped like real ones. */
  newLoginId?: () => string;
  /** Counting (admission and events), as the daemon wires it; nothing counted unless given. */
  metrics?: Metrics;
  /** ClientEventsDeps.soleTaker (the daemon's outside a cluster); unset unless given. */
  soleTaker?: boolean;
  /** `sessions.max_per_user`; none unless given. */
  sessionLimit?: AdmissionDeps["sessionLimit"];
}

export type TestAdmissionOptions =
  & Pick<
    TestClientEventsOptions,
    | "store"
    | "idpUnreachable"
    | "recheckIntervalMs"
    | "reauthCheck"
    | "refresh"
    | "revoke"
    | "policy"
    | "usernamePolicy"
    | "metrics"
    | "sessionLimit"
  >
  & {
    now: () => number;
    /** Where SessionEnd kills clients; a RecordingCommander for every server unless given. */
    commanders?: CommanderLookup;
    /** SessionEndDeps.killing: told of each client about to be killed. */
    killing?: (client: Session) => void;
  };

/**
 * The admission step over a store, with a scripted IdP that records revoked tokens and a
 * SessionEnd that kills through `commanders`.
 */
export function testAdmission(options: TestAdmissionOptions) {
  const revoked: string[] = [];
  const policy = options.policy ?? TEST_POLICY;
  const sessionLock = new KeyedLock();
  const killer = new RecordingCommander();
  // Shared as the daemon shares it.
  const unstoredRefreshTokens = new UnstoredRefreshTokens(getLogger("test"));
  const sessionEnd = new SessionEnd({
    store: options.store,
    commanders: options.commanders ?? (() => killer),
    oidc: {
      revoke: (token) => {
        revoked.push(token);
        return options.revoke?.(token) ?? Promise.resolve();
      },
    },
    sessionLock,
    unstoredRefreshTokens,
    log: getLogger("test"),
    now: options.now,
    ...(options.killing ? { killing: options.killing } : {}),
  });
  const admission = new Admission({
    store: options.store,
    oidc: {
      refresh: options.refresh ??
        (() => Promise.reject(new Error("No refresh expected in this test"))),
    },
    sessionEnd,
    sessionLock,
    unstoredRefreshTokens,
    config: {
      policy: () => policy,
      usernamePolicy: () => options.usernamePolicy ?? "empty_or_match",
      sessionLifetimeMs: 3_600_000,
      idpUnreachable: options.idpUnreachable ?? "deny",
      recheckIntervalMs: options.recheckIntervalMs,
      reauthCheck: options.reauthCheck ?? "none",
    },
    now: options.now,
    log: getLogger("test"),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.sessionLimit ? { sessionLimit: options.sessionLimit } : {}),
  });
  return { admission, sessionEnd, unstoredRefreshTokens, revoked, killed: killer.commands };
}

export function testClientEvents(options: TestClientEventsOptions) {
  const commander = new RecordingCommander();
  const { admission, sessionEnd, unstoredRefreshTokens, revoked } = testAdmission({
    ...options,
    now: () => options.clock.now(),
    commanders: () => commander,
    // As the daemon wires it: the link of the killed client's server (this one) hears of it.
    killing: (client) => events.sessionKilled(client),
  });
  let counter = 0;
  const server = options.server ?? "default";
  const events = new ClientEvents({
    server,
    commander: options.eventsCommander ?? commander,
    store: options.store,
    admission,
    config: {
      baseUrl: new URL("https://vpn.example.com"),
      bypassCommonNames: options.bypassCommonNames ?? [],
      authPendingTimeoutMs: options.authPendingTimeoutMs ?? 60_000,
      maxPendingPerAddress: options.maxPendingPerAddress ?? 0,
      sessions: {
        reauthCheck: options.reauthCheck ?? "none",
        storeUnreachable: options.storeUnreachable ?? "deny",
      },
    },
    clock: options.clock,
    // 22 base64url characters, like the real 16-byte ids.
    newLoginId: options.newLoginId ?? (() => `L${String(++counter).padStart(21, "0")}`),
    // As the daemon's link builder: the events' lines name their server.
    log: getLogger("test").with({ server }),
    ...(options.knownSessions ? { knownSessions: options.knownSessions } : {}),
    ...(options.metrics ? { metrics: options.metrics.server(server) } : {}),
    ...(options.soleTaker === undefined ? {} : { soleTaker: options.soleTaker }),
  });
  return { events, commander, revoked, admission, sessionEnd, unstoredRefreshTokens };
}

/** A store whose every call fails as an unreachable Redis's would while `state.down`. */
export function switchableStore(
  store: SessionStore,
): { store: SessionStore; state: { down: boolean } } {
  const state = { down: false };
  const proxy = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        state.down
          ? Promise.reject(new StoreUnavailableError("Session store unreachable: test"))
          : value.apply(target, args);
    },
  });
  return { store: proxy, state };
}
