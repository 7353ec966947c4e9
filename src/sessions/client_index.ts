/**
 * The memory store's index of entries by the client they belong to, `(server, cid)`: a
 * DISCONNECT finds its session and pending logins without scanning every entry (with 10,000
 * sessions, a DISCONNECT storm scanned them all for each client that left; bench/README.md, B5).
 *
 * A cid usually names one entry; after OpenVPN restarts it may name an old one not yet unbound
 * beside a new one, so an id set is kept only then.
 */
export class ClientIndex {
  readonly #byServer = new Map<string, Map<number, string | Set<string>>>();

  add(server: string, cid: number, id: string): void {
    let byCid = this.#byServer.get(server);
    if (byCid === undefined) this.#byServer.set(server, byCid = new Map());
    const held = byCid.get(cid);
    if (held === undefined) byCid.set(cid, id);
    else if (typeof held === "string") {
      if (held !== id) byCid.set(cid, new Set([held, id]));
    } else held.add(id);
  }

  remove(server: string, cid: number, id: string): void {
    const byCid = this.#byServer.get(server);
    const held = byCid?.get(cid);
    if (byCid === undefined || held === undefined) return;
    if (typeof held === "string") {
      if (held === id) byCid.delete(cid);
    } else {
      held.delete(id);
      if (held.size === 1) byCid.set(cid, held.values().next().value!);
    }
    if (byCid.size === 0) this.#byServer.delete(server);
  }

  /** The ids indexed under `(server, cid)`, oldest first. */
  ids(server: string, cid: number): readonly string[] {
    const held = this.#byServer.get(server)?.get(cid);
    if (held === undefined) return [];
    return typeof held === "string" ? [held] : [...held];
  }

  clear(): void {
    this.#byServer.clear();
  }
}
