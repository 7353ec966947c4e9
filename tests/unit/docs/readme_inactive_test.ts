/**
 * README, OpenVPN server configuration: OpenVPN's `inactive` ends a client whose user is still
 * signing in unless it is 0 or longer than the time OpenVPN is told to hold the client. The
 * README's number is that of the bridge's `client-pending-auth`: its timeout less
 * auth_pending_timeout.
 */
import { assertStringIncludes } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const README = new URL("../../../README.md", import.meta.url);

Deno.test("the README says inactive must be 0 or longer than the time OpenVPN holds a client for its sign-in, on both sides", async () => {
  const timeoutMs = 60_000;
  const { events, commander } = testClientEvents({
    store: new MemoryStore({ maxEntries: 10 }),
    clock: new FakeClock(),
    authPendingTimeoutMs: timeoutMs,
  });
  await events.onConnect(3, 1, testEnv({}));
  events.close();
  const [pending] = commander.commands;
  const grace = pending?.kind === "pending" ? pending.timeoutSec - timeoutMs / 1000 : NaN;
  // Joined: the paragraph is wrapped, its line breaks anywhere.
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  assertStringIncludes(
    readme,
    `**\`inactive\` must be 0 or longer than \`auth_pending_timeout\` + ${grace} s** (the time ` +
      "OpenVPN is told to hold a client for its sign-in), in the server's config and in every " +
      "client's own.",
  );
});
