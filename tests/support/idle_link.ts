/**
 * A cluster instance's link for one holding period that never connects: a start that gets as far
 * as the links takes leases with it, and the test sees only whether it is held.
 */
import type { ClientEvents } from "../../src/bridge/client_events.ts";
import type { ServerLink } from "../../src/bridge/server_link.ts";
import type { HeldLink } from "../../src/cluster/leased_link.ts";
import { RecordingCommander } from "./recording_commander.ts";

export function idleLink(): HeldLink {
  return {
    link: {
      linkUp: false,
      onLinkUp: () => {},
      start: () => {},
      stop: () => Promise.resolve(),
    } as unknown as ServerLink,
    events: {
      adoptPendingLogins: () => Promise.resolve(0),
      takeHeldKills: () => [],
      takeHeldDenies: () => [],
    } as unknown as ClientEvents,
    commander: new RecordingCommander(),
  };
}
