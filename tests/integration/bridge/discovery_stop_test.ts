/**
 * The bridge discovers the IdP in the background and retries while it is down. A bridge stopped
 * while a discovery is under way must not retry when that discovery fails afterwards: the retry
 * timer would keep a process that embeds the bridge (or a test) alive, warning every 5 s.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { withDaemonAgainstIdp } from "../../support/daemon_against_idp.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

Deno.test("a discovery that fails after the bridge stopped is not retried", async () => {
  let discoveries = 0;
  let release!: () => void;
  const stopped = new Promise<void>((resolve) => (release = resolve));
  // Every timer of the bridge, the IdP request's deadline and a retry included, is armed on this
  // clock, which never fires one: the test sees them without waiting for any.
  const clock = new FakeClock();
  let logs: ReturnType<typeof captureLogs> | undefined;
  await withDaemonAgainstIdp({
    // An IdP that is down: its discovery answers 503, once the bridge has stopped.
    idp: async () => {
      discoveries++;
      await stopped;
      return new Response("unavailable", { status: 503 });
    },
    sections: `
[authorization]
allowed_groups = ["/vpn-users"]

[log]
level = "error"
`,
    clock,
    beforeCleanup: () => {
      release();
      logs?.stop();
    },
  }, async (service) => {
    // After the start, which sets up the bridge's own logging.
    logs = captureLogs();
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
