/**
 * Shared test wiring for the bridge's event handling: a policy that admits `/vpn-users`, and a
 * ClientEvents over a given store with a recording commander and a scripted IdP.
 */
import { ClientEvents } from "../../src/bridge/client_events.ts";
import type { Clock } from "../../src/clock.ts";
import type { PolicyConfig } from "../../src/bridge/identity_policy.ts";
import { getLogger } from "../../src/log.ts";
import type { RefreshResult } from "../../src/oidc/client.ts";
import type { KnownSessions } from "../../src/sessions/known_sessions.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { RecordingCommander } from "./recording_commander.ts";

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
  /** The OpenVPN server the events come from; `default` unless given. */
  server?: string;
  /** The policy of that server; TEST_POLICY unless given. */
  policy?: PolicyConfig;
  /** Usually a FakeClock: pending-login deadlines fire when the test advances it. */
  clock: Clock;
  authPendingTimeoutMs?: number;
  reauthCheck?: "none" | "refresh";
  idpUnreachable?: "deny" | "allow";
  storeUnreachable?: "deny" | "allow";
  /** What the events fall back on while the store is unreachable. */
  knownSessions?: KnownSessions;
  /** The IdP's answer to a refresh grant; by default the test fails if one is made. */
  refresh?: () => Promise<RefreshResult>;
  /** Login ids to hand out; by default numbered ids shaped like real ones. */
  newLoginId?: () => string;
}

export function testClientEvents(options: TestClientEventsOptions) {
  const commander = new RecordingCommander();
  const revoked: string[] = [];
  let counter = 0;
  const events = new ClientEvents({
    server: options.server ?? "default",
    commander,
    store: options.store,
    oidc: {
      refresh: options.refresh ??
        (() => Promise.reject(new Error("No refresh expected in this test"))),
      revoke: (token) => {
        revoked.push(token);
        return Promise.resolve();
      },
    },
    config: {
      policy: options.policy ?? TEST_POLICY,
      baseUrl: new URL("https://vpn.example.com"),
      bypassCommonNames: [],
      authPendingTimeoutMs: options.authPendingTimeoutMs ?? 60_000,
      sessions: {
        lifetimeMs: 3_600_000,
        reauthCheck: options.reauthCheck ?? "none",
        idpUnreachable: options.idpUnreachable ?? "deny",
        storeUnreachable: options.storeUnreachable ?? "deny",
      },
    },
    clock: options.clock,
    // 22 base64url characters, like the real 16-byte ids.
    newLoginId: options.newLoginId ?? (() => `L${String(++counter).padStart(21, "0")}`),
    log: getLogger("test"),
    ...(options.knownSessions ? { knownSessions: options.knownSessions } : {}),
  });
  return { events, commander, revoked };
}
