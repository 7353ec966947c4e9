import type { ResolvedConfig } from "../../src/config/types.ts";

/**
 * A resolved `[sessions]` section for the tests that open a store from config: the memory
 * backend, at most 100 entries, sessions lasting an hour, a sweep a minute, no Redis; then
 * `overrides`.
 */
export function sessionsConfig(
  overrides: Partial<ResolvedConfig["sessions"]> = {},
): ResolvedConfig["sessions"] {
  return {
    backend: "memory",
    path: "/nonexistent/sessions.db",
    lifetimeMs: 3_600_000,
    encryptionKey: undefined,
    reauthCheck: "none",
    idpUnreachable: "deny",
    maxEntries: 100,
    sweepIntervalMs: 60_000,
    recheckIntervalMs: undefined,
    maxPerUser: 0,
    maxPerUserAction: "kill_oldest",
    redis: undefined,
    storeUnreachable: "deny",
    ...overrides,
  };
}
