/**
 * A bridge's link to one OpenVPN over the scripted OpenVPN side (fake_management_server.ts): the
 * management connection, ServerLink, ClientEvents and SessionEnd wired as the service wires them.
 */
import { ServerLink } from "../../src/bridge/server_link.ts";
import { SessionEnd } from "../../src/bridge/session_end.ts";
import { managementCommander } from "../../src/bridge/management_commander.ts";
import { type Clock, systemClock } from "../../src/clock.ts";
import { getLogger } from "../../src/log.ts";
import { ManagementConnection } from "../../src/management/connection.ts";
import type { ProtocolLimits } from "../../src/management/protocol.ts";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { testClientEvents } from "./client_events_fixture.ts";
import { FakeClock } from "./fake_clock.ts";
import type { FakeManagementServer } from "./fake_management_server.ts";

export interface LinkOptions {
  /** The bridge's store (an empty memory store when left out). */
  store?: SessionStore;
  /** Limits of the link's management protocol (the defaults when left out). */
  limits?: Partial<ProtocolLimits>;
  /** How long a command may go unanswered (2 s when left out). */
  commandTimeoutMs?: number;
  /** The ServerLink's own clock (the system's when left out); the connection's is the system's. */
  linkClock?: Clock;
}

/**
 * A ServerLink with real ClientEvents over a real management connection to `server`; sessions it
 * ends are killed on that link, as the service does.
 */
export function linkAndEvents(
  server: FakeManagementServer,
  {
    store = new MemoryStore({ maxEntries: 10 }),
    limits = {},
    commandTimeoutMs = 2000,
    linkClock = systemClock,
  }: LinkOptions = {},
) {
  const connection = new ManagementConnection({
    address: server.address,
    commandTimeoutMs,
    reconnectMaxDelayMs: 100,
    clock: systemClock,
    limits,
  });
  const { events, admission } = testClientEvents({
    store,
    clock: new FakeClock(),
    eventsCommander: managementCommander(connection),
  });
  // Ends sessions as the service does: a kill goes out on this link.
  const sessionEnd = new SessionEnd({
    store,
    commanders: () => managementCommander(connection),
    oidc: { revoke: () => Promise.resolve() },
    sessionLock: admission.sessionLock,
    log: getLogger("test"),
    now: Date.now,
  });
  return {
    link: new ServerLink(connection, events, getLogger("clients"), linkClock),
    events,
    admission,
    sessionEnd,
  };
}
