/**
 * A `client-pending-auth` OpenVPN refuses. OpenVPN words every refusal of it alike
 * (`client-pending-auth command failed. Extra parameter might be too long`, manage.c): no such
 * client or key, a key past its handshake window, a URL too long. A client that left was named
 * by the DISCONNECT OpenVPN wrote before that reply: it is not denied after it, nor counted and
 * audited as an internal error, as it once was. A client still there is denied, as before.
 *
 * The real ServerLink, ClientEvents, managementCommander and PrometheusMetrics, over a stand-in
 * connection that answers as OpenVPN does (the DISCONNECT block, then the ERROR line).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import type { Reply } from "../../../src/management/events.ts";
import { getLogger } from "../../../src/log.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { PendingLogin } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  settle,
  testClientEvents,
  testEnv,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";

/** OpenVPN 2.6's one refusal of `client-pending-auth` (manage.c). */
const REFUSED = "client-pending-auth command failed. Extra parameter might be too long";

/**
 * A started link whose OpenVPN refuses `client-pending-auth`, after telling the client's
 * DISCONNECT first when `clientLeft`; every other command succeeds.
 */
function linkRefusingPendingAuth(clientLeft: boolean) {
  const store = new MemoryStore({ maxEntries: 10, now: () => EVENTS_T0 });
  const { connection, sent, emit } = scriptedConnection((command, count): Reply => {
    if (command.name !== "client-pending-auth") {
      return { ticket: count, type: "success", message: "ok" };
    }
    // OpenVPN ran its DISCONNECT before the command, so the block comes before the reply.
    if (clientLeft) emit({ type: "client-disconnect", cid: 5, env: testEnv({}) });
    return { ticket: count, type: "error", message: REFUSED };
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
  /** Delivers a CONNECT of a client that signs in in a browser, and lets every reply come. */
  const connect = async () => {
    emit({ type: "client-connect", cid: 5, kid: 1, env: testEnv({ session_id: "s-new" }) });
    for (let turn = 0; turn < 10; turn++) await settle();
  };
  /** The value of one series in a scrape. */
  const series = async (name: string) => {
    const text = await metrics.render();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line?.slice(name.length + 1);
  };
  return { sent, connect, series, stop: () => link.stop() };
}

const INTERNAL_ERRORS = 'openvpn_auth_oidc_denials_total{reason="internal_error"}';

Deno.test("a client-pending-auth OpenVPN refuses after its client's DISCONNECT is not followed by a deny, nor counted or audited as internal_error", async () => {
  const logs = captureLogs();
  const t = linkRefusingPendingAuth(true);
  try {
    await t.connect();
    assertEquals(t.sent.map((text) => text.split(" ")[0]), ["client-pending-auth"]);
    assertEquals(await t.series(INTERNAL_ERRORS), "0");
    assertEquals(logs.lines.filter((line) => line.category === "audit"), []);
    const loud = logs.lines.filter((line) => line.level === "warning" || line.level === "error");
    assertEquals(loud.map((line) => line.text), []);
    const left = logs.lines.find((line) => line.text.includes(REFUSED));
    assertEquals(left?.level, "info");
    assert(left?.text.includes("left"), left?.text);
  } finally {
    await t.stop();
    logs.stop();
  }
});

Deno.test("a client-pending-auth OpenVPN refuses while its client is still there is followed by a deny (internal_error), as before", async () => {
  const logs = captureLogs();
  const t = linkRefusingPendingAuth(false);
  try {
    await t.connect();
    assertEquals(t.sent.map((text) => text.split(" ")[0]), ["client-pending-auth", "client-deny"]);
    assert(t.sent[1]!.startsWith('client-deny 5 1 "internal error"'), t.sent[1]);
    assertEquals(await t.series(INTERNAL_ERRORS), "1");
    const audited = logs.lines.filter((line) => line.category === "audit");
    assertEquals(audited.map((line) => line.properties.reason), ["internal_error"]);
  } finally {
    await t.stop();
    logs.stop();
  }
});

Deno.test("a client that leaves while its sign-in is being stored is sent no client-pending-auth, nor denied", async () => {
  const memory = new MemoryStore({ maxEntries: 10, now: () => EVENTS_T0 });
  let release = () => {};
  const stored = new Promise<void>((resolve) => (release = resolve));
  // putPending writes at once, but its answer comes only when the test lets it (a Redis round
  // trip), and the client's DISCONNECT is handled meanwhile.
  const store = new Proxy(memory, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (name === "putPending") {
        return async (login: PendingLogin) => {
          await target.putPending(login);
          await stored;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const logs = captureLogs();
  try {
    const { events, commander } = testClientEvents({ store, clock: new FakeClock(EVENTS_T0) });
    const connecting = events.onConnect(4, 1, testEnv({ session_id: "s-new" }));
    await settle();
    await events.onDisconnect(4);
    // What OpenVPN answers a client-pending-auth for a client it no longer has.
    commander.failWith = REFUSED;
    release();
    await connecting.catch(() => {});
    for (let turn = 0; turn < 10; turn++) await settle();
    assertEquals(commander.commands.map((command) => `${command.kind} ${command.cid}`), []);
    assertEquals(await memory.getPending(`L${"1".padStart(21, "0")}`), undefined);
    assertEquals(
      logs.lines.filter((line) => line.text.includes("internal_error") || line.level === "warning"),
      [],
    );
  } finally {
    logs.stop();
  }
});
