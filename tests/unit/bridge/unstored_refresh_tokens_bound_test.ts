/**
 * The bound of UnstoredRefreshTokens: exactly `max` sessions' tokens are kept (README's 10,000
 * by default), and beyond it the one that has waited longest since its last rotation is dropped
 * (its session ends at its next refresh), never one whose token the IdP just rotated again.
 */
import { assertEquals } from "../../support/assert.ts";
import { getLogger } from "../../../src/log.ts";
import { UnstoredRefreshTokens } from "../../../src/bridge/unstored_refresh_tokens.ts";
import { testSession } from "../../support/client_events_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";

const held = (sessionId: string, refreshToken: string) => testSession({ sessionId, refreshToken });

Deno.test("UnstoredRefreshTokens keeps exactly its bound without a warning", async () => {
  const kept = new UnstoredRefreshTokens(getLogger("test"), 2);
  const logs = await logsOf(() => {
    kept.keep("s-1", "a-1", { refreshToken: "a-2", refreshExpiresAt: undefined });
    kept.keep("s-2", "b-1", { refreshToken: "b-2", refreshExpiresAt: undefined });
    return Promise.resolve();
  });
  assertEquals(logs.map((l) => l.level), []);
  assertEquals(kept.apply(held("s-1", "a-1")).refreshToken, "a-2");
  assertEquals(kept.apply(held("s-2", "b-1")).refreshToken, "b-2");
});

Deno.test("UnstoredRefreshTokens beyond its bound drops the token kept longest ago, not one just rotated again", () => {
  const kept = new UnstoredRefreshTokens(getLogger("test"), 2);
  kept.keep("s-1", "a-1", { refreshToken: "a-2", refreshExpiresAt: undefined });
  kept.keep("s-2", "b-1", { refreshToken: "b-2", refreshExpiresAt: undefined });
  // s-1 refreshed again with the kept token; that write failed too.
  kept.keep("s-1", "a-2", { refreshToken: "a-3", refreshExpiresAt: undefined });
  kept.keep("s-3", "c-1", { refreshToken: "c-2", refreshExpiresAt: undefined });
  assertEquals(kept.apply(held("s-1", "a-1")).refreshToken, "a-3");
  assertEquals(kept.apply(held("s-2", "b-1")).refreshToken, "b-1");
  assertEquals(kept.apply(held("s-3", "c-1")).refreshToken, "c-2");
});

Deno.test("UnstoredRefreshTokens by default keeps 10,000 sessions' tokens, as README says, and drops the oldest past them", async () => {
  const kept = new UnstoredRefreshTokens(getLogger("test"));
  const keep = (n: number) =>
    kept.keep(`s-${n}`, `old-${n}`, { refreshToken: `new-${n}`, refreshExpiresAt: undefined });
  const within = await logsOf(() => {
    for (let n = 0; n < 10_000; n++) keep(n);
    return Promise.resolve();
  });
  assertEquals(within.map((l) => l.level), []);
  assertEquals(kept.apply(held("s-0", "old-0")).refreshToken, "new-0");
  const past = await logsOf(() => Promise.resolve(keep(10_000)));
  assertEquals(past.map((l) => [l.level, l.properties.max]), [["warning", 10_000]]);
  assertEquals(kept.apply(held("s-0", "old-0")).refreshToken, "old-0", "the oldest dropped");
  assertEquals(kept.apply(held("s-1", "old-1")).refreshToken, "new-1");
});
