/**
 * A discovery that keeps failing (a wrong issuer, an IdP that is down) is retried every 5 s but
 * warned about once a minute with the count in between, not 720 times an hour; the warning
 * quotes the issuer the document names; once discovery works, one info line says so.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { withHeldDiscovery } from "../../support/daemon_against_idp.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import { DISCOVERY_RETRY_MS } from "../../../src/oidc/discovery_keeper.ts";

/** Failures before the IdP answers: two and a half minutes of retries. */
const FAILURES = 30;

Deno.test("a discovery failing 30 times in a row is warned about once a minute with a count, and its recovery once at info", async () => {
  let discoveries = 0;
  await withHeldDiscovery(async (request, issuer, released) => {
    if (!new URL(request.url).pathname.endsWith("/.well-known/openid-configuration")) {
      return new Response("not found", { status: 404 });
    }
    discoveries++;
    // The first answer waits for the test's log capture.
    await released;
    // Every other failure a wrong issuer, the others an IdP that is down.
    if (discoveries <= FAILURES && discoveries % 2 === 1) {
      return Response.json({ issuer: "https://kc.example.com/realms/vpn" });
    }
    if (discoveries <= FAILURES) return new Response("unavailable", { status: 503 });
    return Response.json({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/certs`,
    });
  }, async ({ clock, logs, release }) => {
    release();
    const retriesArmed = () => clock.delays.filter((ms) => ms === DISCOVERY_RETRY_MS).length;
    for (let failed = 1; failed <= FAILURES; failed++) {
      await pollUntil(
        `failure ${failed} to be handled`,
        () => (discoveries === failed && retriesArmed() === failed) || undefined,
        5_000,
      );
      clock.advance(DISCOVERY_RETRY_MS);
    }
    const discovery = () => logs.lines.filter((line) => line.text.startsWith("OIDC discovery"));
    // All 30 failures handled (each armed its retry): warned at 0 s, 60 s and 120 s, with the
    // 11 failures in between counted.
    const warnings = discovery().filter((line) => line.level === "warning");
    assertEquals(warnings.length, 3, warnings.map((line) => line.text).join("\n"));
    assertEquals(warnings.map((line) => line.properties.more), [undefined, 11, 11]);
    assertStringIncludes(warnings[1]!.text, "(11 more since the last)");
    // The first failure is the wrong issuer: the document's own is named, and offered as the fix.
    assertStringIncludes(
      warnings[0]!.text,
      'the document names the issuer "https://kc.example.com/realms/vpn" ' +
        '(if that is this IdP, set oidc.issuer = "https://kc.example.com/realms/vpn")',
    );
    await pollUntil(
      "the recovery line",
      () => discovery().some((line) => line.level === "info") || undefined,
      5_000,
    );
    const infos = discovery().filter((line) => line.level === "info");
    assertEquals(infos.length, 1);
    assertEquals(infos[0]!.properties.failures, FAILURES);
    assert(infos[0]!.text.includes("succeeded after"), infos[0]!.text);
    assertEquals(discoveries, FAILURES + 1);
  });
});
