/**
 * README, Security notes: the bridge "fails closed: IdP errors, unexpected management replies,
 * malformed or dropped `>CLIENT:` requests and internal errors deny the client."
 *
 * An error thrown while a CONNECT or REAUTH is handled reaches ServerLink's catch, which answers
 * the client with `client-deny`: "internal error" for a bug, "session store unreachable" for a
 * store that cannot be reached. The link here runs over a stand-in connection that records the
 * management commands written (built by the real command module, through the real
 * managementCommander) and a real ClientEvents.
 */
import { assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import type { ClientEvents } from "../../../src/bridge/client_events.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import { testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { withTimeout } from "../../e2e/lib/wait.ts";

const INTERNAL_DENY = (cid: number, kid: number) =>
  `client-deny ${cid} ${kid} "internal error" "Sign-in failed on the server; try again"`;
const STORE_DENY = (cid: number, kid: number) =>
  `client-deny ${cid} ${kid} "session store unreachable" "Sign-in is unavailable right now; try again in a minute."`;

/** A bound on waiting for the answer, so a link that never answers fails instead of hanging. */
const ANSWER_BOUND_MS = 5000;

/**
 * A started ServerLink whose connection records each command's text and answers SUCCESS;
 * `events` may be changed before an event is sent (to make a handler throw).
 */
function linkOver(store: SessionStore = new MemoryStore({ maxEntries: 10 })) {
  let firstSent: (() => void) | undefined;
  const answered = new Promise<void>((resolve) => (firstSent = resolve));
  const { connection, sent, emit } = scriptedConnection((_command, count) => {
    firstSent?.();
    return { ticket: count, type: "success", message: "ok" };
  });
  const clock = new FakeClock();
  const { events } = testClientEvents({
    store,
    clock,
    eventsCommander: managementCommander(connection),
  });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  const deliver = (type: "client-connect" | "client-reauth", cid: number, kid: number) =>
    emit({
      type,
      cid,
      kid,
      // A 2.6 client that can sign in in a browser, starting a new session.
      env: testEnv({ untrusted_ip: "198.51.100.7", untrusted_port: "50000" }),
    });
  /** The commands written once the first one was. */
  const commands = async () => {
    await withTimeout("the link's answer to the client", answered, ANSWER_BOUND_MS);
    return sent;
  };
  return { link, events, deliver, commands, clock };
}

/** Makes the link's handler of CONNECTs and REAUTHs reject with `error`. */
function throwing(events: ClientEvents, error: Error): void {
  events.onRequest = () => Promise.reject(error);
}

/**
 * Delivers a `type` event as cid `cid` key 1 after `breakIt` made its handling fail, and checks
 * the link's one answer and the level of its one "denying" line.
 */
async function deniedWhen(
  type: "client-connect" | "client-reauth",
  cid: number,
  breakIt: (events: ClientEvents) => void,
  answer: (cid: number, kid: number) => string,
  level: string,
): Promise<void> {
  const logs = captureLogs();
  const { link, events, deliver, commands } = linkOver();
  try {
    breakIt(events);
    deliver(type, cid, 1);
    assertEquals(await commands(), [answer(cid, 1)]);
    const logged = logs.lines.filter((line) => line.text.includes("denying"));
    assertEquals(logged.map((line) => line.level), [level]);
  } finally {
    await link.stop();
    logs.stop();
  }
}

for (const type of ["client-connect", "client-reauth"] as const) {
  Deno.test(`a ${type} whose handling throws a plain Error gets client-deny "internal error"`, () =>
    deniedWhen(
      type,
      5,
      (events) => {
        events.onRequest = () => Promise.reject(new Error("a bug"));
      },
      INTERNAL_DENY,
      "error",
    ));

  // The request is read before its answer is waited for (the wait keeps the request, not the
  // block): a failure there is a failure of its handling, and fails closed like any other.
  Deno.test(`a ${type} whose request cannot be read out of its block gets client-deny "internal error"`, () =>
    deniedWhen(
      type,
      6,
      (events) => {
        events.request = () => {
          throw new Error("a bug reading the block");
        };
      },
      INTERNAL_DENY,
      "error",
    ));

  // Not a rejection: a throw out of the handler itself, as the event arrives.
  Deno.test(`a ${type} whose handling throws before its first wait gets client-deny "internal error"`, () =>
    deniedWhen(
      type,
      8,
      (events) => {
        events.onRequest = () => {
          throw new Error("a bug before the first wait");
        };
      },
      INTERNAL_DENY,
      "error",
    ));

  Deno.test(`a ${type} whose handling finds the store unreachable gets client-deny "session store unreachable"`, () =>
    deniedWhen(
      type,
      7,
      (events) => {
        events.onRequest = () =>
          Promise.reject(new StoreUnavailableError("Session store unreachable: test"));
      },
      STORE_DENY,
      "warning",
    ));
}

Deno.test("store failures are warned about once a minute, at debug in between; a bug's each time", async () => {
  const logs = captureLogs();
  const { link, events, deliver, commands, clock } = linkOver();
  const answered = async (count: number) => {
    const sent = await commands();
    for (let tries = 0; sent.length < count && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(sent.length, count);
  };
  const unavailable = "StoreUnavailableError: Session store unavailable: test";
  try {
    throwing(events, new StoreUnavailableError("Session store unavailable: test"));
    for (const cid of [1, 2, 3]) deliver("client-reauth", cid, 1);
    await answered(3);
    clock.advance(60_000);
    deliver("client-connect", 4, 1);
    await answered(4);
    throwing(events, new Error("a bug"));
    for (const cid of [5, 6]) deliver("client-connect", cid, 1);
    await answered(6);
    // Before: a warning for each of the four.
    assertEquals(
      logs.lines.filter((line) => line.text.includes("denying")).map((line) =>
        `${line.level}: ${line.text}`
      ),
      [
        `warning: Handling client-reauth of cid 1 failed; denying: ${unavailable}`,
        `debug: Handling client-reauth of cid 2 failed; denying: ${unavailable}`,
        `debug: Handling client-reauth of cid 3 failed; denying: ${unavailable}`,
        `warning: Handling client-connect of cid 4 failed; denying: ${unavailable} ` +
        "(2 more since the last)",
        "error: Handling client-connect of cid 5 failed; denying: Error: a bug",
        "error: Handling client-connect of cid 6 failed; denying: Error: a bug",
      ],
    );
  } finally {
    await link.stop();
    logs.stop();
  }
});

/** A memory store whose `putPending` (a new sign-in's first write) rejects with `error`. */
function storeFailingPut(error: Error): SessionStore {
  const store = new MemoryStore({ maxEntries: 10 });
  return new Proxy(store, {
    get(target, name) {
      if (name === "putPending") return () => Promise.reject(error);
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("a new sign-in the real ClientEvents cannot store (a plain Error) is denied as an internal error", async () => {
  const { link, deliver, commands } = linkOver(storeFailingPut(new Error("disk on fire")));
  try {
    deliver("client-connect", 9, 0);
    assertEquals(await commands(), [INTERNAL_DENY(9, 0)]);
  } finally {
    await link.stop();
  }
});

// ClientEvents answers this one itself (#answerWithoutStore), before ServerLink's catch: the
// client hears the same either way.
Deno.test("a new sign-in the real ClientEvents cannot store (store unreachable) is denied as such", async () => {
  const { link, deliver, commands } = linkOver(
    storeFailingPut(new StoreUnavailableError("Session store unreachable: test")),
  );
  try {
    deliver("client-connect", 9, 2);
    assertEquals(await commands(), [STORE_DENY(9, 2)]);
  } finally {
    await link.stop();
  }
});
