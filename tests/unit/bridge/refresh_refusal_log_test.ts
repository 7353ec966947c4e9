/**
 * What a REAUTH's refresh check that failed logs, as the service writes it (the real sink): the
 * IdP refusing the user's grant (disabled, signed out) is the check working as meant, at info
 * beside the denial and audit lines; a refusal of the bridge's own request is a warning; an IdP
 * that could not answer is its outage's warning (refresh_outage.ts, reauth_outage_lines_test.ts),
 * and the denial names the setting that decides it.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { testClientEvents, testEnv, testSession } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { configureLogging } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { IdpRejectedError, IdpUnreachableError, OidcError } from "../../../src/oidc/errors.ts";

const T0 = 1_800_000_000_000;
const HINT = 'sessions.idp_unreachable = "deny" (the default) fails closed while the IdP ' +
  'cannot be asked; "allow" keeps users connected on their stored session';

/** The text lines of alice's REAUTH at info when the refresh fails with `error`. */
async function reauthLines(error: OidcError): Promise<string[]> {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const t = testClientEvents({
    store,
    clock: new FakeClock(T0),
    reauthCheck: "refresh",
    refresh: () => Promise.reject(error),
  });
  await store.putSession(testSession());
  configureLogging("info", "text");
  const stderr = captureStderr();
  try {
    await t.events.onReauth(4, 3, testEnv({}));
  } finally {
    stderr.restore();
    configureLogging("warning", "text");
    t.events.close();
  }
  assertEquals(t.commander.commands[0]?.kind, "deny");
  return stderr.lines();
}

/** The level tag of the one line that includes `text`. */
function levelOf(lines: string[], text: string): string {
  const found = lines.filter((line) => line.includes(text));
  assertEquals(found.length, 1, lines.join("\n"));
  return /\[([A-Z]{3})\]/.exec(found[0]!)?.[1] ?? "";
}

Deno.test("a refresh check the IdP refuses as invalid_grant is logged at info, no warning", async () => {
  const lines = await reauthLines(new IdpRejectedError("Refresh failed: invalid_grant"));
  assertEquals(levelOf(lines, 'Refresh for "alice" failed: '), "INF");
  assertEquals(lines.filter((line) => line.includes("[WRN]")), []);
  assertEquals(lines.some((line) => line.includes("idp_unreachable")), false, lines.join("\n"));
});

Deno.test("a refresh check refused for the bridge's own request (invalid_client) stays a warning", async () => {
  const lines = await reauthLines(
    new OidcError("idp_error", "IdP refused the refresh request itself (HTTP 401 invalid_client)"),
  );
  assertEquals(levelOf(lines, 'Refresh for "alice" failed: '), "WRN");
});

Deno.test("a refresh check denied because the IdP is unreachable warns of the outage, not of the refresh, and its denial says what decides that", async () => {
  const lines = await reauthLines(new IdpUnreachableError("connect ECONNREFUSED"));
  assertEquals(lines.filter((line) => line.includes("Refresh for")), []);
  assertEquals(
    levelOf(lines, 'Refresh checks cannot ask the identity provider ("connect ECONNREFUSED")'),
    "WRN",
  );
  const [denied] = lines.filter((line) => line.includes("denied by the refresh check"));
  assert(denied !== undefined, lines.join("\n"));
  // In the sentence, not quoted as data.
  assertStringIncludes(denied, `denied by the refresh check: idp_unreachable; ${HINT}`);
});
