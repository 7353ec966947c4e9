/**
 * TunnelCount: a client is in from its ESTABLISHED to its DISCONNECT; OpenVPN's client list read
 * at a link-up or a new run sets the count again, whichever way its reply and the events around
 * it interleave; unknown (undefined) until then, when the list could not be read, while the link
 * is down, and past MAX_TUNNELS cids.
 */
import { assertEquals } from "../../support/assert.ts";
import type { ClientList } from "../../../src/management/client_list.ts";
import { TunnelCount } from "../../../src/bridge/tunnel_count.ts";
import { MAX_TUNNELS } from "../../../src/bridge/tunnel_audit.ts";

/** A client list: `up` with a virtual address, `unaddressed` without one. */
function list(up: readonly number[], unaddressed: readonly number[] = []): ClientList {
  return {
    rows: [
      ...up.map((cid) => ({ cid, unaddressed: false, connectedSince: undefined })),
      ...unaddressed.map((cid) => ({ cid, unaddressed: true, connectedSince: undefined })),
    ],
    time: undefined,
  };
}

/** Link-up with `listed` as OpenVPN's client list. */
function linkedWith(listed: ClientList): TunnelCount {
  const tunnels = new TunnelCount();
  tunnels.listed(tunnels.listing(), listed);
  return tunnels;
}

Deno.test("TunnelCount is unknown until the client list is read, then counts its rows with an address", () => {
  const tunnels = new TunnelCount();
  assertEquals(tunnels.count, undefined);
  tunnels.established(1);
  assertEquals(tunnels.count, undefined, "no list read yet");
  const listing = tunnels.listing();
  assertEquals(tunnels.count, undefined, "while the list is read");
  // cid 3 is in its handshake (no address): not a tunnel yet.
  tunnels.listed(listing, list([1, 2], [3]));
  assertEquals(tunnels.count, 2);
});

Deno.test("TunnelCount counts ESTABLISHED in and DISCONNECT out, and no DISCONNECT of a client never let in", () => {
  const tunnels = linkedWith(list([], [3]));
  assertEquals(tunnels.count, 0);
  tunnels.established(3);
  tunnels.established(4);
  assertEquals(tunnels.count, 2);
  // Denied at its CONNECT (or its handshake never ended): OpenVPN sends its DISCONNECT all the same.
  tunnels.left(5);
  assertEquals(tunnels.count, 2);
  tunnels.left(3);
  tunnels.left(3);
  assertEquals(tunnels.count, 1);
});

Deno.test("TunnelCount takes events that come while the list is read, before or after its reply", () => {
  const tunnels = new TunnelCount();
  const listing = tunnels.listing();
  // Before the reply is handled: 7 came up (listed or not), 1 left (listed or not).
  tunnels.established(7);
  tunnels.left(1);
  tunnels.listed(listing, list([1, 2, 7]));
  assertEquals(tunnels.count, 2, "2 and 7");
  tunnels.left(2);
  assertEquals(tunnels.count, 1);
});

Deno.test("TunnelCount starts again at each list read: a new run's list replaces the old run's clients", () => {
  const tunnels = linkedWith(list([0, 1, 2]));
  assertEquals(tunnels.count, 3);
  // OpenVPN restarted in place: cids start at 0 again.
  tunnels.listed(tunnels.listing(), list([0]));
  assertEquals(tunnels.count, 1);
});

Deno.test("TunnelCount ignores the reply to an earlier list read", () => {
  const tunnels = new TunnelCount();
  const first = tunnels.listing();
  const second = tunnels.listing();
  tunnels.listed(first, list([1, 2, 3]));
  assertEquals(tunnels.count, undefined);
  tunnels.listed(second, list([1]));
  assertEquals(tunnels.count, 1);
});

Deno.test("TunnelCount is unknown when the list could not be read whole, and while the link is down", () => {
  const tunnels = linkedWith(list([1, 2]));
  tunnels.listed(tunnels.listing(), undefined);
  assertEquals(tunnels.count, undefined);
  tunnels.established(3);
  assertEquals(tunnels.count, undefined);

  const down = linkedWith(list([1, 2]));
  const listing = down.listing();
  down.unknown();
  // The reply to a link that went down is not taken.
  down.listed(listing, list([1, 2]));
  assertEquals(down.count, undefined);
  down.listed(down.listing(), list([4]));
  assertEquals(down.count, 1);
});

Deno.test("TunnelCount is 0 when OpenVPN exits: its clients go with it", () => {
  const tunnels = linkedWith(list([1, 2]));
  tunnels.none();
  assertEquals(tunnels.count, 0);
  tunnels.left(1);
  assertEquals(tunnels.count, 0);
});

Deno.test("TunnelCount keeps at most MAX_TUNNELS cids: past it the count is unknown until the next list", () => {
  const tunnels = linkedWith(list([]));
  for (let cid = 0; cid < MAX_TUNNELS; cid++) tunnels.established(cid);
  assertEquals(tunnels.count, MAX_TUNNELS);
  tunnels.established(MAX_TUNNELS);
  assertEquals(tunnels.count, undefined);
  tunnels.listed(tunnels.listing(), list([1]));
  assertEquals(tunnels.count, 1);

  // A list longer than that is no count either.
  const many = Array.from({ length: MAX_TUNNELS + 1 }, (_, cid) => cid);
  assertEquals(linkedWith(list(many)).count, undefined);
});
