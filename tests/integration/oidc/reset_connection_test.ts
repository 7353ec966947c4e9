/**
 * A refresh whose pooled connection the IdP closes, unanswered, as the bridge reuses it still
 * succeeds on both runtimes: Deno's fetch sends the POST again itself, Bun's does not (only
 * idempotent methods), so the bridge's IdP fetch does (src/oidc/http.ts). Before that, the
 * released binary (Bun) refused about one sign-in or refresh in a thousand as `idp_unreachable`.
 */
import { assertEquals } from "../../support/assert.ts";
import { runUnderBun } from "../../support/bun_child.ts";
import {
  refreshOverResetConnection,
  type ResetObservations,
} from "./_reset_connection_scenario.ts";

function assertSentOnceMore(runtime: string, observed: ResetObservations): void {
  const report = `${runtime}: ${JSON.stringify(observed)}`;
  assertEquals(observed.outcome, "ok refresh-token-2", report);
  // The cut-off POST went again on a new connection, and nothing was sent a third time.
  assertEquals(observed.seen, [
    "1 GET /realms/vpn/.well-known/openid-configuration HTTP/1.1",
    "1 POST /realms/vpn/token HTTP/1.1",
    "2 POST /realms/vpn/token HTTP/1.1",
  ], report);
}

Deno.test("Deno: a refresh cut off on a reused connection is sent once more and succeeds", async () => {
  assertSentOnceMore("Deno", await refreshOverResetConnection());
});

Deno.test("Bun: a refresh cut off on a reused connection is sent once more and succeeds", async () => {
  const observed = await runUnderBun(
    new URL("./_reset_connection_bun_child.ts", import.meta.url),
    [],
  ) as ResetObservations;
  assertSentOnceMore("Bun", observed);
});
