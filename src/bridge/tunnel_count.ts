/**
 * How many clients have their tunnel up on one OpenVPN server, as its management link knows it
 * (the `tunnels` gauge): a client is in from its `>CLIENT:ESTABLISHED` to its
 * `>CLIENT:DISCONNECT`, whatever let it in (a sign-in, a token, `bypass_common_names`, OpenVPN
 * without asking until the bridge kills it: each is on the network meanwhile). OpenVPN also sends
 * a DISCONNECT for a client it never let in (denied, or its handshake never finished), so the
 * cids are kept rather than a bare number: only a cid that is in goes out.
 *
 * The link hears nothing while it is down, and a new run of OpenVPN takes every client with it
 * (a restart inside the process keeps the link up): at each link-up and each new run the count
 * starts again from OpenVPN's own client list (`status 3`), its rows with a virtual address (one
 * without is not admitted yet: client_list.ts). Until that list is read, when it could not be
 * read whole, and while the link is down, the count is unknown (undefined), not a guess.
 */
import type { ClientList } from "../management/client_list.ts";
import { MAX_TUNNELS } from "./tunnel_audit.ts";

export class TunnelCount {
  /** The cids whose tunnel is up; at most MAX_TUNNELS, past which the count is unknown. */
  readonly #up = new Set<number>();
  /**
   * While the client list is read, the cids that left since it was asked for: its reply may come
   * before or after their DISCONNECT is handled, and one it lists must not be counted again. An
   * ESTABLISHED meanwhile needs nothing of the kind: its cid is in `#up` whether listed or not.
   */
  #leftWhileListing: Set<number> | undefined;
  /** The list being read: a reply to an earlier ask (another link, another run) is not used. */
  #listing = 0;
  #known = false;

  /** Clients with their tunnel up; undefined when the link does not know. */
  get count(): number | undefined {
    return this.#known ? this.#up.size : undefined;
  }

  /** A client's tunnel came up (ESTABLISHED). */
  established(cid: number): void {
    if (this.#up.size >= MAX_TUNNELS && !this.#up.has(cid)) this.unknown();
    this.#up.add(cid);
  }

  /** A client left (DISCONNECT): counted out if it was in, whatever became of it before. */
  left(cid: number): void {
    this.#up.delete(cid);
    const left = this.#leftWhileListing;
    if (left === undefined) return;
    if (left.size >= MAX_TUNNELS) this.unknown();
    else left.add(cid);
  }

  /**
   * OpenVPN's client list is asked for (a link-up, a new run): the count starts again from it.
   * Call as the request is written; returns what `listed` takes with its reply.
   */
  listing(): number {
    this.#up.clear();
    this.#known = false;
    this.#leftWhileListing = new Set();
    return ++this.#listing;
  }

  /** The reply to `listing`'s request; `list` undefined when it could not be read whole. */
  listed(listing: number, list: ClientList | undefined): void {
    const left = this.#leftWhileListing;
    if (listing !== this.#listing || left === undefined) return;
    this.#leftWhileListing = undefined;
    if (list === undefined) return;
    for (const { cid, unaddressed } of list.rows) {
      if (!unaddressed && !left.has(cid)) this.established(cid);
    }
    // Not when a row went past MAX_TUNNELS (unknown() began another listing).
    this.#known = listing === this.#listing;
  }

  /** OpenVPN is exiting: every client goes with it. */
  none(): void {
    this.unknown();
    this.#known = true;
  }

  /** The link went down, or more cids than MAX_TUNNELS: unknown until the next listing. */
  unknown(): void {
    this.#listing++;
    this.#up.clear();
    this.#leftWhileListing = undefined;
    this.#known = false;
  }
}
