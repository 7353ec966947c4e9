/**
 * Back-channel logouts and admin revokes over a store, as the daemon wires them: a SessionEnd
 * that kills the clients of OpenVPN server `vpn1` through a recording commander (no other
 * server has one) and whose IdP takes every revocation at once.
 */
import { KeyedLock } from "../../src/bridge/keyed_lock.ts";
import { Revocation, type RevocationDeps } from "../../src/bridge/revocation.ts";
import { SessionEnd } from "../../src/bridge/session_end.ts";
import { getLogger } from "../../src/log.ts";
import { RecordingCommander } from "./recording_commander.ts";

/**
 * The config's times a Revocation is given, as tests want them: kept for sessions.lifetime's
 * default, no clock tolerance (tests that need one give it).
 */
export const TEST_REVOCATION_TIMES: Pick<RevocationDeps, "keepForMs" | "clockToleranceSec"> = {
  keepForMs: 12 * 3_600_000,
  clockToleranceSec: 0,
};

export type TestRevocationOptions =
  & Pick<RevocationDeps, "store" | "verifyLogoutToken">
  & Partial<Pick<RevocationDeps, "clock">>;

/** The revocation, and the commander that records what it had `vpn1` told. */
export function testRevocation(
  options: TestRevocationOptions,
): { revocation: Revocation; commander: RecordingCommander } {
  const commander = new RecordingCommander();
  const end = new SessionEnd({
    store: options.store,
    commanders: (name) => (name === "vpn1" ? commander : undefined),
    oidc: { revoke: () => Promise.resolve() },
    sessionLock: new KeyedLock(),
    log: getLogger("test"),
    now: options.clock?.now ?? Date.now,
  });
  const revocation = new Revocation({
    store: options.store,
    end,
    verifyLogoutToken: options.verifyLogoutToken,
    log: getLogger("test"),
    ...TEST_REVOCATION_TIMES,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { revocation, commander };
}
