/**
 * The bound of UnstoredRefreshTokens: exactly `max` sessions' tokens are kept, and beyond it the one
 * that has waited longest since its last rotation is dropped (its session ends at its next
 * refresh), never one whose token the IdP just rotated again.
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
