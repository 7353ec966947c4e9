/**
 * The bridge discovers the IdP in the background and retries while it is down. A bridge stopped
 * while a discovery is under way must not retry when that discovery fails afterwards: the retry
 * timer would keep a process that embeds the bridge (or a test) alive, warning every 5 s.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { withHeldDiscovery } from "../../support/daemon_against_idp.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import { DISCOVERY_RETRY_MS } from "../../../src/oidc/discovery_keeper.ts";

Deno.test("a discovery that fails after the bridge stopped is not retried", async () => {
  let discoveries = 0;
  // Every timer of the bridge, the IdP request's deadline and a retry included, is armed on the
  // helper's clock, which never fires one: the test sees them without waiting for any.
  await withHeldDiscovery(async (_request, _issuer, stopped) => {
    // An IdP that is down: its discovery answers 503, once the bridge has stopped.
    discoveries++;
    await stopped;
    return new Response("unavailable", { status: 503 });
  }, async ({ service, clock, logs, release }) => {
    const lines = logs.lines;
    await pollUntil("the discovery request at the IdP", () => discoveries > 0 || undefined, 5_000);
    await service.stop();
    // Left armed: the deadline of the discovery under way (and whatever the stop forgot).
    const armed = clock.delays.length;
    const pending = clock.pendingTimers;
    assert(pending >= 1, "the discovery under way has no deadline armed");
    release();
    // The bridge clears the request's deadline once it has read the 503, and handles the
    // failure in the same turn: a retry would by then be warned about and armed.
    await pollUntil(
      "the bridge to read the 503",
      () =>
        clock.pendingTimers < pending ||
        lines.some((line) => line.text.startsWith("OIDC discovery")) ||
        undefined,
      5_000,
    );
    assertEquals(lines.filter((line) => line.text.startsWith("OIDC discovery")), []);
    assertEquals(clock.delays.slice(armed), [], "a timer was armed after the stop");
    assertEquals(discoveries, 1);
  });
});

Deno.test("a discovery retry armed before the stop is cleared by it", async () => {
  let discoveries = 0;
  await withHeldDiscovery(() => {
    // An IdP that is down from the start.
    discoveries++;
    return Promise.resolve(new Response("unavailable", { status: 503 }));
  }, async ({ service, clock }) => {
    await pollUntil(
      "the retry after the failed discovery",
      () => clock.delays.includes(DISCOVERY_RETRY_MS) || undefined,
      5_000,
    );
    const pending = clock.pendingTimers;
    await service.stop();
    // Every timer the bridge armed ends with the stop: a retry left armed would discover again
    // after it (and keep an embedding process alive).
    assertEquals(clock.pendingTimers, 0, `of ${pending} armed before the stop`);
    assertEquals(discoveries, 1);
  });
});
