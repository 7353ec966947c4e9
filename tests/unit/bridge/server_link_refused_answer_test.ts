/**
 * An answer OpenVPN refuses with `ERROR:` is not followed by a deny (commander.ts,
 * answerRefusal), a `client-deny` or a halt's `client-kill` alike. The client left while it was
 * judged (`client-deny command failed`): ServerLink
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
    tunnels: () => undefined,
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
  /** Delivers a CONNECT or REAUTH and waits until the link has handled it (stop waits for that). */
  const request = async (
    { kind, cid, kid, env }: Pick<Refused, "kind" | "cid" | "kid" | "env">,
  ) => {
    emit({ type: `client-${kind}`, cid, kid, env: testEnv(env) });
    await withTimeout(`the link's handling of the ${kind}`, link.stop(), HANDLED_BOUND_MS);
  };
  /** The value of one series in a scrape. */
  const series = async (name: string) => {
    const text = await metrics.render();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line?.slice(name.length + 1);
  };
  return { sent, request, series };
}

const denies = (event: string) =>
  `openvpn_auth_oidc_client_events_total{server="default",event="${event}",answer="deny"}`;
const denials = (reason: string) => `openvpn_auth_oidc_denials_total{reason="${reason}"}`;

/** A request refused with `command`, counted as a denial `code`. */
interface Refused {
  kind: "connect" | "reauth";
  cid: number;
  kid: number;
  env: Record<string, string>;
  command: string;
  code: string;
}

/** The two ways a client is refused (refusal.ts): both refusals are answers all the same. */
const REFUSED: readonly Refused[] = [
  // A renegotiation with no session: denied, session_invalid.
  {
    kind: "reauth",
    cid: 5,
    kid: 1,
    env: { session_id: "s-none", session_state: "Initial" },
    command: "client-deny",
    code: "session_invalid",
  },
  // A new client that cannot sign in in a browser: halted, no_webauth.
  {
    kind: "connect",
    cid: 5,
    kid: 1,
    env: { IV_SSO: "openurl,crtext", session_id: "s-new" },
    command: "client-kill",
    code: "no_webauth",
  },
];

for (const refused of REFUSED) {
  const { command } = refused;
  Deno.test(`a ${command} OpenVPN refuses because the client left is sent, counted and audited once, with no error`, async () => {
    const logs = captureLogs();
    try {
      const t = await linkAnswering((name) =>
        name === command ? `${command} command failed` : undefined
      );
      await t.request(refused);
      assertEquals(t.sent.length, 1, t.sent.join("\n"));
      assert(t.sent[0]!.startsWith(`${command} 5 `), t.sent[0]);
      assertEquals(await t.series(denies(refused.kind)), "1");
      assertEquals(await t.series(denials(refused.code)), "1");
      assertEquals(await t.series(denials("internal_error")), "0");
      const audited = logs.lines.filter((line) => line.category === "audit");
      assertEquals(audited.map((line) => line.properties.reason), [refused.code]);
      assertEquals(logs.lines.filter((line) => line.level === "error").map((l) => l.text), []);
      const answer = logs.lines.find((line) => line.text.includes("OpenVPN refused the answer"));
      assertEquals(answer?.level, "info");
      assert(answer?.text.includes(`${command} command failed`), answer?.text);
    } finally {
      logs.stop();
    }
  });

  Deno.test(`a ${command} OpenVPN cannot parse is logged as an error, and not sent again`, async () => {
    const logs = captureLogs();
    try {
      const t = await linkAnswering((name) => name === command ? "cannot parse KID" : undefined);
      await t.request(refused);
      assertEquals(t.sent.length, 1, t.sent.join("\n"));
      assertEquals(await t.series(denials("internal_error")), "0");
      const errors = logs.lines.filter((line) => line.level === "error");
      assertEquals(errors.length, 1, errors.map((l) => l.text).join("\n"));
      assert(errors[0]!.text.includes("cannot parse KID"), errors[0]!.text);
    } finally {
      logs.stop();
    }
  });

  Deno.test(`a reply that is no SUCCESS or ERROR to a ${command} is no refusal: the client is denied again, as after any failure`, async () => {
    const logs = captureLogs();
    try {
      const t = await linkAnswering((name) =>
        // How the protocol reports a line out of step (protocol.ts).
        name === command && !t.sent.some((text) => text.includes('"internal error"'))
          ? 'Unexpected reply line: "hello"'
          : undefined
      );
      await t.request(refused);
      assertEquals(t.sent.length, 2, t.sent.join("\n"));
      assert(t.sent[0]!.startsWith(`${command} 5 `), t.sent[0]);
      assert(t.sent[1]!.startsWith("client-deny 5 1 "), t.sent[1]);
      assert(t.sent[1]!.includes('"internal error"'), t.sent[1]);
    } finally {
      logs.stop();
    }
  });
}

Deno.test("a token reconnect whose client-auth OpenVPN refuses (the client left) is not denied", async () => {
  const logs = captureLogs();
  try {
    const t = await linkAnswering((command) =>
      command === "client-auth" ? "client-auth command failed" : undefined
    );
    await t.request({
      kind: "connect",
      cid: 2,
      kid: 1,
      env: { session_id: "s-1", session_state: "Authenticated" },
    });
    assertEquals(t.sent.map((text) => text.split(" ")[0]), ["client-auth"]);
    assertEquals(await t.series(denies("connect")), "0");
    assertEquals(await t.series(denials("internal_error")), "0");
    assertEquals(logs.lines.filter((line) => line.category === "audit"), []);
    assertEquals(logs.lines.filter((line) => line.level === "error").map((l) => l.text), []);
  } finally {
    logs.stop();
  }
});
