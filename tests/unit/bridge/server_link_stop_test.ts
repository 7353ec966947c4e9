import { assertEquals } from "../../support/assert.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import type { ClientEvents } from "../../../src/bridge/client_events.ts";
import type {
  ConnectionEventHandler,
  ManagementConnection,
} from "../../../src/management/connection.ts";
import { getLogger } from "../../../src/log.ts";
import { FakeClock } from "../../support/fake_clock.ts";

/** A link whose REAUTHs finish only when the test says, and what happened in which order. */
function slowLink() {
  const order: string[] = [];
  let handler: ConnectionEventHandler | undefined;
  const finish = new Map<number, () => void>();
  const connection = {
    onEvent: (h: ConnectionEventHandler) => ((handler = h), () => (handler = undefined)),
    start: () => {},
    close: () => (order.push("socket closed"), Promise.resolve()),
  } as unknown as ManagementConnection;
  const events = {
    request: (_kind: string, cid: number) => ({ cid }),
    onRequest: ({ cid }: { cid: number }) =>
      new Promise<void>((resolve) =>
        finish.set(cid, () => (order.push(`cid ${cid} answered`), resolve()))
      ),
    close: () => order.push("events closed"),
  } as unknown as ClientEvents;
  const clock = new FakeClock();
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  const reauth = (cid: number) => handler!({ type: "client-reauth", cid, kid: 1, env: new Map() });
  return { link, order, finish, clock, reauth };
}

Deno.test("stop() waits for the events being handled, then closes", async () => {
  const { link, order, finish, reauth } = slowLink();
  reauth(1);
  reauth(2);
  const stopped = link.stop();
  await Promise.resolve();
  finish.get(2)!();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(order, ["cid 2 answered"], "one event still being handled: not closed yet");
  finish.get(1)!();
  await stopped;
  assertEquals(order, ["cid 2 answered", "cid 1 answered", "events closed", "socket closed"]);
});

Deno.test("stop() waits no longer than its grace for an event that does not finish", async () => {
  const { link, order, clock, reauth } = slowLink();
  reauth(1);
  const stopped = link.stop(500);
  await Promise.resolve();
  clock.advance(499);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(order, []);
  clock.advance(1);
  await stopped;
  assertEquals(order, ["events closed", "socket closed"]);
});

Deno.test("stop() with nothing in flight closes at once", async () => {
  const { link, order } = slowLink();
  await link.stop();
  assertEquals(order, ["events closed", "socket closed"]);
});
