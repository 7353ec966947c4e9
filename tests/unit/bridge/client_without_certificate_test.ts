/**
 * A client without a certificate (`verify-client-cert none`: user name and password, then the
 * browser) under `username-as-common-name`, with the ENV OpenVPN 2.6.14 sends for it: no
 * `tls_serial_0` ever, no `common_name` at its CONNECT, and at each REAUTH `common_name` set to
 * the user name it typed. That name is no certificate's: the REAUTH resumes the session its
 * sign-in stored with no certificate name, and neither `bypass_common_names` nor
 * `common_name_claim` ever takes it for one (src/bridge/certificate_name.ts).
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { certificateName } from "../../../src/bridge/certificate_name.ts";
import { EnvClientRequest } from "../../../src/bridge/client_request.ts";
import { decide } from "../../../src/bridge/decide.ts";
import { judgeClient } from "../../../src/bridge/judge_client.ts";
import { IdpRejectedError } from "../../../src/oidc/errors.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "../../support/client_certificate.ts";
import {
  EVENTS_T0 as T0,
  TEST_POLICY,
  testClientEvents,
  testClientRequest,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { linesLoggedBy } from "../../support/stderr_capture.ts";

/** A REAUTH's ENV from a client without a certificate that typed `username`. */
function reauthEnv(username: string): Map<string, string> {
  return new Map(Object.entries({
    common_name: username,
    username,
    session_id: "s-1",
    session_state: "Authenticated",
    untrusted_ip: "198.51.100.7",
  }));
}

/** A CONNECT's ENV from a client without a certificate that typed `username`: no common_name. */
function connectEnv(username: string): Map<string, string> {
  return new Map(Object.entries({
    username,
    session_id: "s-1",
    session_state: "Initial",
    IV_SSO: "webauth",
    untrusted_ip: "198.51.100.7",
  }));
}

/** Alice's session as such a client's sign-in stored it: its CONNECT named no certificate. */
function sessionWithoutCertificate() {
  return testSession({ commonName: "", resumable: true });
}

Deno.test("certificateName() is common_name only when the client presented a certificate (tls_serial_0)", () => {
  const env = (values: Record<string, string>) => new Map(Object.entries(values));
  assertEquals(
    certificateName(env({ common_name: "alice-laptop", tls_serial_0: CLIENT_CERTIFICATE_SERIAL })),
    "alice-laptop",
  );
  assertEquals(certificateName(env({ tls_serial_0: CLIENT_CERTIFICATE_SERIAL })), "");
  assertEquals(certificateName(env({ common_name: "bob", username: "bob" })), "");
  assertEquals(certificateName(env({ username: "bob" })), "");
});

Deno.test("a REAUTH of a client without a certificate resumes its session: client-auth-nt, no browser", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  await store.putSession(sessionWithoutCertificate());
  const { events, commander } = testClientEvents({ store, clock: new FakeClock(T0 + 1000) });
  await events.onReauth(4, 3, reauthEnv("alice"));
  await events.onReauth(4, 4, reauthEnv("alice"));
  assertEquals(commander.commands, [
    { kind: "auth-nt", cid: 4, kid: 3 },
    { kind: "auth-nt", cid: 4, kid: 4 },
  ]);
  events.close();
});

Deno.test("a typed user name on bypass_common_names bypasses nothing: the REAUTH is checked at the IdP and denied once the user is disabled", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  // Alice signed in (username_policy = "any") on a client that typed a gateway's name.
  await store.putSession(sessionWithoutCertificate());
  let refreshes = 0;
  const { events, commander } = testClientEvents({
    store,
    clock: new FakeClock(T0 + 1000),
    bypassCommonNames: [/^site-gw-\d+$/],
    reauthCheck: "refresh",
    usernamePolicy: "any",
    refresh: () => {
      refreshes++;
      return Promise.reject(new IdpRejectedError("invalid_grant"));
    },
  });
  await events.onReauth(4, 3, reauthEnv("site-gw-1"));
  assertEquals(refreshes, 1);
  assertEquals(commander.commands.map((command) => command.kind), ["deny"]);
  assertEquals(await store.getSession("s-1"), undefined);
  events.close();
});

Deno.test("a bypass pattern that matches an empty name (.*) bypasses no client without a certificate: its CONNECT signs in", () => {
  const connect = new EnvClientRequest("connect", "default", 4, 1, connectEnv("alice"));
  const options = {
    bypassCommonNames: [/^(?:.*)$/],
    reauthCheck: "none" as const,
    now: T0,
    serverSignsIn: true,
  };
  assertEquals(decide(connect, undefined, options), { action: "start_login" });
  // A certificate's name it matches is bypassed as before.
  assertEquals(
    decide(testClientRequest({ kind: "connect", commonName: "site-gw-1" }), undefined, options),
    { action: "bypass" },
  );
});

Deno.test("common_name_claim never matches a client without a certificate, whatever user name it typed", () => {
  const request = new EnvClientRequest("reauth", "default", 4, 3, reauthEnv("alice"));
  const policy = {
    ...TEST_POLICY,
    authorization: { ...TEST_POLICY.authorization, commonNameClaim: "preferred_username" },
  };
  const claims = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };
  const verdict = judgeClient(claims, request, {
    policy,
    usernamePolicy: "empty_or_match",
  }, getLogger("test"));
  assertEquals(verdict.allow === false && verdict.denial.code, "common_name");
});

Deno.test("log and audit lines name a client without a certificate as such, not by an empty name", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  const { events } = testClientEvents({ store, clock: new FakeClock(T0) });
  const lines = await logsOf(async () => {
    await events.onConnect(4, 1, connectEnv("alice"));
    // No session: the REAUTH of cid 5 is denied, logged and audited.
    await events.onReauth(5, 2, reauthEnv("bob"));
  });
  events.close();
  assertEquals(lines.map((line) => line.text), [
    "CONNECT on cid 4 (certificate (no certificate)) from 198.51.100.7: waiting for browser sign-in",
    "REAUTH on cid 5 (certificate (no certificate)) denied: no session for this client",
    "REAUTH denied on default cid 5, certificate (no certificate), from " +
    "198.51.100.7: session_invalid",
  ]);
  // Words in the sentence; in a JSON line's property the name the client has: none.
  assertEquals(JSON.stringify(lines[2]!.properties["commonName"]), '""');
});

Deno.test("through the real sink, a client without a certificate reads (no certificate) unquoted, and its JSON commonName is empty", async () => {
  const written = async (format: "text" | "json") => {
    const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
    const { events } = testClientEvents({ store, clock: new FakeClock(T0) });
    try {
      return await linesLoggedBy(format, () => events.onReauth(5, 2, reauthEnv("bob")));
    } finally {
      events.close();
    }
  };
  const text = await written("text");
  assertEquals(text.length, 2);
  assertStringIncludes(text[0]!, "REAUTH on cid 5 (certificate (no certificate)) denied");
  assertStringIncludes(text[1]!, 'cid 5, certificate (no certificate), from "198.51.100.7"');
  const json = (await written("json")).map((line) => JSON.parse(line));
  assertEquals(json.map(({ properties }) => properties.commonName), ["", ""]);
  assertEquals(json.map(({ message }) => message.includes("certificate (no certificate)")), [
    true,
    true,
  ]);
});
