/**
 * UnaskedAdmissions on its own: which ESTABLISHED events it leaves alone (and at what cost),
 * which it kills, and what it says. The daemon-level cases (a real sign-in, a restart, a bypassed
 * name, a storm) are in tests/integration/bridge/unasked_admissions_test.ts.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../../support/assert.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "../../support/client_certificate.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import {
  MAX_RECORDED_CLIENTS,
  TOKEN_KILL_MESSAGE,
  UnaskedAdmissions,
} from "../../../src/bridge/unasked_admissions.ts";
import { clientKill } from "../../../src/management/commands.ts";
import { getLogger } from "../../../src/log.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";

const RUN = "4242@1700000000:CONNECTED";

/**
 * The env of a certificate client's ESTABLISHED; `sessionState` as OpenVPN sets it with
 * auth-gen-token. `certificate: false`: a client that presented none (no `tls_serial_0`), whose
 * `common_name` is the user name `username-as-common-name` copied in.
 */
function env(
  commonName: string,
  sessionState?: string,
  { certificate = true } = {},
): { get(name: string): string | undefined } {
  const values = new Map([["common_name", commonName], ["untrusted_ip", "198.51.100.7"]]);
  if (certificate) values.set("tls_serial_0", CLIENT_CERTIFICATE_SERIAL);
  if (sessionState !== undefined) values.set("session_state", sessionState);
  return { get: (name) => values.get(name) };
}

/** A detector over a store whose bound cids are `bound`, counting its reads. */
function detector(options: { bound?: number[]; storeError?: Error; killError?: Error } = {}) {
  const clock = new FakeClock();
  const state = { run: RUN as string | undefined, reads: 0, counted: 0 };
  const kills: Array<{ cid: number; run: string | undefined; message?: string }> = [];
  const heldKills: Array<{ cid: number; run: string; message: string }> = [];
  const bound = new Set(options.bound ?? []);
  const unasked = new UnaskedAdmissions({
    server: "default",
    store: {
      findSessionIdByCid: (_server, cid) => {
        state.reads++;
        if (options.storeError) return Promise.reject(options.storeError);
        return Promise.resolve(bound.has(cid) ? `s-${cid}` : undefined);
      },
    },
    bypassCommonNames: () => [/^monitor-\d+$/],
    run: () => state.run,
    kill: (cid, run, message) => {
      kills.push({ cid, run, message });
      return options.killError ? Promise.reject(options.killError) : Promise.resolve();
    },
    killLater: (cid, run, message) => heldKills.push({ cid, run, message }),
    log: getLogger("clients"),
    clock,
    metrics: { unaskedAdmission: () => state.counted++ },
  });
  const commander = unasked.recording(new RecordingCommander());
  return { unasked, commander, clock, state, kills, heldKills };
}

Deno.test("a client answered on this link after its CONNECT is let through without a store read", async () => {
  const { unasked, commander, state, kills } = detector();
  unasked.asked("connect", 1);
  await commander.auth(1, 1, []);
  unasked.asked("connect", 2);
  await commander.authNt(2, 1);
  await unasked.established(1, env("alice"));
  await unasked.established(2, env("monitor"));
  assertEquals(state.reads, 0);
  assertEquals(kills, []);
});

Deno.test("an ESTABLISHED nothing admitted before any CONNECT: one error that blames the config, a kill in its run, counted", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    await unasked.established(5, env("mallory"));
    assertEquals(kills, [{ cid: 5, run: RUN, message: "RESTART" }]);
    assertEquals(state.counted, 1);
    const lines = logs.lines.filter((line) => line.category === "clients");
    assertEquals(lines.map((line) => line.level), ["error"]);
    assertEquals(
      lines[0]!.text,
      "OpenVPN admitted cid 5 (certificate mallory, from 198.51.100.7) without asking " +
        "openvpn-auth-oidc: its config lacks management-client-auth (add that line to the " +
        "OpenVPN server's config and restart it); disconnecting the client",
    );
  } finally {
    logs.stop();
  }
});

Deno.test("the error is given once a minute, with how many it held back; each client is killed and counted", async () => {
  const logs = captureLogs();
  try {
    const { unasked, clock, state, kills } = detector();
    for (let cid = 0; cid < 3; cid++) await unasked.established(cid, env(`user-${cid}`));
    clock.advance(60_000);
    await unasked.established(3, env("user-3"));
    assertEquals(kills.length, 4);
    assertEquals(state.counted, 4);
    const lines = logs.lines.filter((line) => line.category === "clients");
    assertEquals(lines.length, 2);
    assertStringIncludes(lines[1]!.text, "OpenVPN admitted cid 3");
    assertStringIncludes(lines[1]!.text, "(2 more since the last such line)");
  } finally {
    logs.stop();
  }
});

Deno.test("the error is given at most once a minute: none again a moment before the minute is up", async () => {
  const logs = captureLogs();
  try {
    const { unasked, clock, kills } = detector();
    await unasked.established(0, env("user-0"));
    clock.advance(59_999);
    await unasked.established(1, env("user-1"));
    assertEquals(kills.length, 2);
    assertEquals(logs.lines.filter((line) => line.category === "clients").length, 1);
  } finally {
    logs.stop();
  }
});

Deno.test("a bound session or a bypassed common name admits; neither is killed", async () => {
  const { unasked, state, kills } = detector({ bound: [8] });
  await unasked.established(8, env("alice"));
  await unasked.established(9, env("monitor-1"));
  assertEquals(kills, []);
  assertEquals(state.reads, 1, "the bypassed name reads nothing");
});

Deno.test("a user name on the bypass list admits nothing: a client without a certificate whose copied user name matches is killed", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    await unasked.established(9, env("monitor-1", undefined, { certificate: false }));
    assertEquals(kills, [{ cid: 9, run: RUN, message: "RESTART" }]);
    assertEquals(state.reads, 1, "looked for a session, as for any client");
    // No certificate, no certificate name: the line does not give the typed user name as one.
    const [line] = clientLines(logs);
    assertStringIncludes(line!.text, "OpenVPN admitted cid 9");
    assertEquals(line!.text.includes("monitor-1"), false, line!.text);
  } finally {
    logs.stop();
  }
});

Deno.test("once OpenVPN asked about a client, an ESTABLISHED with no session is killed without blaming the config", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    unasked.asked("reauth", 1);
    await unasked.established(6, env("alice"));
    assertEquals(kills, [{ cid: 6, run: RUN, message: "RESTART" }]);
    assertEquals(state.counted, 0);
    const lines = logs.lines.filter((line) => line.category === "clients");
    assertEquals(lines.map((line) => line.level), ["warning"]);
    assertStringIncludes(lines[0]!.text, "finished its handshake with no session");
    assertEquals(lines[0]!.text.includes("management-client-auth"), false);
  } finally {
    logs.stop();
  }
});

/** The lines logged under "clients", as level and text. */
function clientLines(logs: ReturnType<typeof captureLogs>): Array<{ level: string; text: string }> {
  return logs.lines.filter((line) => line.category === "clients")
    .map(({ level, text }) => ({ level, text }));
}

for (const asked of [false, true]) {
  const when = asked ? "after OpenVPN asked about a client" : "before OpenVPN asked anything";
  Deno.test(`a reconnect OpenVPN admitted on its own token (${when}): halted, the error names external-auth, counted`, async () => {
    const logs = captureLogs();
    try {
      const { unasked, state, kills } = detector();
      if (asked) unasked.asked("connect", 1);
      // A token reconnect: a new cid, no CONNECT, no session bound to it.
      await unasked.established(12, env("alice", "Authenticated"));
      // RESTART would bring it back on its token at once: admitted, killed, until it expires.
      assertEquals(kills, [{ cid: 12, run: RUN, message: TOKEN_KILL_MESSAGE }]);
      assertEquals(state.counted, 1);
      const lines = clientLines(logs);
      assertEquals(lines.map((line) => line.level), ["error"]);
      assertEquals(
        lines[0]!.text,
        "OpenVPN admitted cid 12 (certificate alice, from 198.51.100.7) on its own " +
          "auth-gen-token without asking openvpn-auth-oidc: its config has auth-gen-token " +
          "without external-auth (add external-auth to that line and restart OpenVPN); " +
          "stopping the client (client-kill HALT: on a restart it would reconnect on its token)",
      );
      assertEquals(lines[0]!.text.includes("management-client-auth"), false);
    } finally {
      logs.stop();
    }
  });
}

Deno.test("the token kill halts with a reason for the user: HALT, a comma, text not read as flags, within the management limits", () => {
  // Without text the client logs "Halt command was pushed by server ('')" and its user is left
  // with a stopped client. A leading `[` is read by the client as flags ([P], [N]: push.c).
  assertMatch(TOKEN_KILL_MESSAGE, /^HALT,[^[\s]/);
  assertStringIncludes(TOKEN_KILL_MESSAGE, "administrator");
  assertStringIncludes(TOKEN_KILL_MESSAGE, "external-auth");
  // clientKill quotes it and checks OpenVPN's parameter and line limits; it throws past them.
  assertEquals(clientKill(12, TOKEN_KILL_MESSAGE).text, `client-kill 12 "${TOKEN_KILL_MESSAGE}"`);
});

Deno.test("the token kill's text is the one the README quotes from the client's log", () => {
  assertEquals(
    TOKEN_KILL_MESSAGE,
    "HALT,VPN server misconfigured: ask its administrator to add external-auth to auth-gen-token",
  );
});

Deno.test("an Initial ESTABLISHED before any ask: RESTART, the error names management-client-auth, counted", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    await unasked.established(13, env("mallory", "Initial"));
    assertEquals(kills, [{ cid: 13, run: RUN, message: "RESTART" }]);
    assertEquals(state.counted, 1);
    const lines = clientLines(logs);
    assertEquals(lines.map((line) => line.level), ["error"]);
    assertStringIncludes(lines[0]!.text, "its config lacks management-client-auth");
    assertEquals(lines[0]!.text.includes("external-auth"), false);
  } finally {
    logs.stop();
  }
});

Deno.test("an Initial ESTABLISHED after an ask: RESTART, no config blamed, not counted", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    unasked.asked("connect", 1);
    await unasked.established(14, env("alice", "Initial"));
    assertEquals(kills, [{ cid: 14, run: RUN, message: "RESTART" }]);
    assertEquals(state.counted, 0);
    const lines = clientLines(logs);
    assertEquals(lines.map((line) => line.level), ["warning"]);
    assertStringIncludes(lines[0]!.text, "it ended after the client was admitted");
    assertEquals(/management-client-auth|external-auth/.test(lines[0]!.text), false);
  } finally {
    logs.stop();
  }
});

Deno.test("each cause has its own line a minute: a token flood does not hide a missing management-client-auth", async () => {
  const logs = captureLogs();
  try {
    const { unasked, clock, state } = detector();
    for (let cid = 0; cid < 3; cid++) await unasked.established(cid, env("a", "Authenticated"));
    await unasked.established(3, env("b", "Initial"));
    await unasked.established(4, env("c", "Initial"));
    assertEquals(state.counted, 5);
    let lines = clientLines(logs);
    assertEquals(lines.length, 2);
    assertStringIncludes(lines[0]!.text, "without external-auth");
    assertStringIncludes(lines[1]!.text, "lacks management-client-auth");
    clock.advance(60_000);
    await unasked.established(5, env("a", "Authenticated"));
    lines = clientLines(logs);
    assertStringIncludes(lines[2]!.text, "OpenVPN admitted cid 5");
    assertStringIncludes(lines[2]!.text, "(2 more since the last such line)");
  } finally {
    logs.stop();
  }
});

Deno.test("a store that cannot answer: not killed, a warning", async () => {
  const logs = captureLogs();
  try {
    const { unasked, kills } = detector({ storeError: new StoreUnavailableError("redis down") });
    await unasked.established(5, env("alice"));
    assertEquals(kills, []);
    const lines = logs.lines.filter((line) => line.category === "clients");
    assertEquals(lines.map((line) => line.level), ["warning"]);
    assertStringIncludes(lines[0]!.text, "not disconnected");
  } finally {
    logs.stop();
  }
});

Deno.test("a new run of OpenVPN forgets the record, and one during the store read sends no kill", async () => {
  const { unasked, commander, state, kills } = detector();
  unasked.asked("connect", 1);
  await commander.auth(1, 1, []);
  state.run = "4242@1700000099:CONNECTED";
  // Cid 1 now names a client of the new run, which nobody answered.
  await unasked.established(1, env("alice"));
  assertEquals(state.reads, 1);
  assertEquals(kills, [{ cid: 1, run: "4242@1700000099:CONNECTED", message: "RESTART" }]);

  const pending = unasked.established(2, env("bob"));
  state.run = "4242@1700000123:CONNECTED";
  await pending;
  assertEquals(kills.length, 1, "cid 2 went with its run");
});

Deno.test("a kill the link could not write is held for the link, in the client's run, with its message: a token admission's HALT stays a HALT", async () => {
  const { unasked, heldKills } = detector({
    killError: new ManagementConnectionError("not-connected", "link down"),
  });
  await unasked.established(5, env("mallory"));
  await unasked.established(6, env("trudy", "Authenticated"));
  assertEquals(heldKills, [
    { cid: 5, run: RUN, message: "RESTART" },
    { cid: 6, run: RUN, message: TOKEN_KILL_MESSAGE },
  ]);
});

Deno.test("the record is bounded: past its size the oldest client is checked in the store", async () => {
  const { unasked, commander, state, kills } = detector({ bound: [0] });
  for (let cid = 0; cid <= MAX_RECORDED_CLIENTS; cid++) {
    unasked.asked("connect", cid);
    await commander.authNt(cid, 1);
  }
  await unasked.established(MAX_RECORDED_CLIENTS, env("newest"));
  assertEquals(state.reads, 0);
  await unasked.established(0, env("oldest"));
  assertEquals(state.reads, 1);
  assertEquals(kills, []);
});

Deno.test("a new run of OpenVPN forgets that OpenVPN asked: an Initial ESTABLISHED in it before any ask blames management-client-auth, counted", async () => {
  const logs = captureLogs();
  try {
    const { unasked, state, kills } = detector();
    unasked.asked("connect", 1);
    // Restarted with a config that lacks the line: nothing asked in this run.
    state.run = "4242@1700000099:CONNECTED";
    await unasked.established(13, env("mallory", "Initial"));
    assertEquals(kills, [{ cid: 13, run: "4242@1700000099:CONNECTED", message: "RESTART" }]);
    assertEquals(state.counted, 1);
    const lines = clientLines(logs);
    assertEquals(lines.map((line) => line.level), ["error"]);
    assertStringIncludes(lines[0]!.text, "its config lacks management-client-auth");
  } finally {
    logs.stop();
  }
});

Deno.test("a CONNECT seen but never answered admits nothing: its ESTABLISHED with no session is killed", async () => {
  const { unasked, state, kills } = detector();
  unasked.asked("connect", 5);
  await unasked.established(5, env("alice"));
  assertEquals(state.reads, 1, "checked in the store");
  assertEquals(kills, [{ cid: 5, run: RUN, message: "RESTART" }]);
});
