/**
 * An answer OpenVPN refuses with `ERROR:` is not followed by a deny (commander.ts,
 * answerRefusal). The client left while it was judged (`client-deny command failed`): ServerLink
 * once took the refusal for a failed handling, logged an error and sent a second `client-deny`
 * ("internal error"), so one request was counted, and audited, as two denials.
 *
 * The real ServerLink, ClientEvents, managementCommander and PrometheusMetrics, over a stand-in
 * connection that records each command's text and answers it as OpenVPN would.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { getLogger } from "../../../src/log.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { withTimeout } from "../../e2e/lib/wait.ts";

/** A bound on the handling, so a link that never settles fails instead of hanging. */
const HANDLED_BOUND_MS = 5000;

/**
 * A started link whose connection answers each command with `reply(name)` (OpenVPN's `ERROR:`
 * text, or undefined for SUCCESS), counting into real metrics.
 */
async function linkAnswering(reply: (command: string) => string | undefined) {
  const store = new MemoryStore({ maxEntries: 10, now: () => EVENTS_T0 });
  // Alice's session, resumable and bound to no client: a token reconnect resumes it.
  await store.putSession(testSession({ cid: undefined, resumable: true }));
  const { connection, sent, emit } = scriptedConnection((command, count) => {
    const error = reply(command.name);
    return error === undefined
      ? { ticket: count, type: "success", message: "ok" }
      : { ticket: count, type: "error", message: error };
  });
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
    linkUp: () => true,
  });
  const clock = new FakeClock(EVENTS_T0);
  const { events } = testClientEvents({
    store,
    clock,
    eventsCommander: managementCommander(connection, metrics),
    metrics,
  });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  /** Delivers a CONNECT and waits until the link has handled it (stop waits for that). */
  const connect = async (cid: number, kid: number, env: Record<string, string>) => {
    emit({ type: "client-connect", cid, kid, env: testEnv(env) });
    await withTimeout("the link's handling of the CONNECT", link.stop(), HANDLED_BOUND_MS);
  };
  /** The value of one series in a scrape. */
  const series = async (name: string) => {
    const text = await metrics.render();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line?.slice(name.length + 1);
  };
  return { sent, connect, series };
}

const CONNECT_DENIES =
  'openvpn_auth_oidc_client_events_total{server="default",event="connect",answer="deny"}';
const denials = (reason: string) => `openvpn_auth_oidc_denials_total{reason="${reason}"}`;

/** A new client that cannot sign in in a browser: denied no_webauth. */
const WITHOUT_WEBAUTH = { IV_SSO: "openurl,crtext", session_id: "s-new" };

Deno.test("a client-deny OpenVPN refuses because the client left is sent, counted and audited once, with no error", async () => {
  const logs = captureLogs();
  try {
    const t = await linkAnswering((command) =>
      command === "client-deny" ? "client-deny command failed" : undefined
    );
    await t.connect(5, 1, WITHOUT_WEBAUTH);
    assertEquals(
      t.sent.filter((text) => text.startsWith("client-deny")).length,
      1,
      t.sent.join("\n"),
    );
    assert(t.sent[0]!.startsWith("client-deny 5 1 "), t.sent[0]);
    assertEquals(await t.series(CONNECT_DENIES), "1");
    assertEquals(await t.series(denials("no_webauth")), "1");
    assertEquals(await t.series(denials("internal_error")), "0");
    const audited = logs.lines.filter((line) => line.category === "audit");
    assertEquals(audited.map((line) => line.properties.reason), ["no_webauth"]);
    assertEquals(logs.lines.filter((line) => line.level === "error").map((l) => l.text), []);
    const refused = logs.lines.find((line) => line.text.includes("OpenVPN refused the answer"));
    assertEquals(refused?.level, "info");
    assert(refused?.text.includes("client-deny command failed"), refused?.text);
  } finally {
    logs.stop();
  }
});

Deno.test("a client-deny OpenVPN cannot parse is logged as an error, and not sent again", async () => {
  const logs = captureLogs();
  try {
    const t = await linkAnswering((command) =>
      command === "client-deny" ? "cannot parse KID" : undefined
    );
    await t.connect(5, 1, WITHOUT_WEBAUTH);
    assertEquals(
      t.sent.filter((text) => text.startsWith("client-deny")).length,
      1,
      t.sent.join("\n"),
    );
    assertEquals(await t.series(denials("internal_error")), "0");
    const errors = logs.lines.filter((line) => line.level === "error");
    assertEquals(errors.length, 1, errors.map((l) => l.text).join("\n"));
    assert(errors[0]!.text.includes("cannot parse KID"), errors[0]!.text);
  } finally {
    logs.stop();
  }
});

Deno.test("a token reconnect whose client-auth OpenVPN refuses (the client left) is not denied", async () => {
  const logs = captureLogs();
  try {
    const t = await linkAnswering((command) =>
      command === "client-auth" ? "client-auth command failed" : undefined
    );
    await t.connect(2, 1, { session_id: "s-1", session_state: "Authenticated" });
    assertEquals(t.sent.map((text) => text.split(" ")[0]), ["client-auth"]);
    assertEquals(await t.series(CONNECT_DENIES), "0");
    assertEquals(await t.series(denials("internal_error")), "0");
    assertEquals(logs.lines.filter((line) => line.category === "audit"), []);
    assertEquals(logs.lines.filter((line) => line.level === "error").map((l) => l.text), []);
  } finally {
    logs.stop();
  }
});

Deno.test("a reply that is no SUCCESS or ERROR to a client-deny is no refusal: the client is denied again, as after any failure", async () => {
  const logs = captureLogs();
  try {
    const t = await linkAnswering((command) =>
      // How the protocol reports a line out of step (protocol.ts).
      command === "client-deny" && !t.sent.some((text) => text.includes('"internal error"'))
        ? 'Unexpected reply line: "hello"'
        : undefined
    );
    await t.connect(5, 1, WITHOUT_WEBAUTH);
    assertEquals(t.sent.length, 2, t.sent.join("\n"));
    assert(t.sent[1]!.includes('"internal error"'), t.sent[1]);
  } finally {
    logs.stop();
  }
});
