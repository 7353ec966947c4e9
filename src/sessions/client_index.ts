/**
 * The memory store's index of entries by the client they belong to, `(server, cid)`: a
 * DISCONNECT finds its session and pending logins without scanning every entry (with 10,000
 * sessions, a DISCONNECT storm scanned them all for each client that left; bench/README.md, B5).
 *
 * A cid usually names one entry; after OpenVPN restarts it may name an old one not yet unbound
 * beside a new one (ValueIndex keeps an id set only then).
 */
import { ValueIndex } from "./value_index.ts";

export class ClientIndex {
  readonly #byServer = new Map<string, ValueIndex<number>>();

  add(server: string, cid: number, id: string): void {
    let byCid = this.#byServer.get(server);
    if (byCid === undefined) this.#byServer.set(server, byCid = new ValueIndex());
    byCid.add(cid, id);
  }

  remove(server: string, cid: number, id: string): void {
    const byCid = this.#byServer.get(server);
    if (byCid === undefined) return;
    byCid.remove(cid, id);
    if (byCid.size === 0) this.#byServer.delete(server);
  }

  /** The ids indexed under `(server, cid)`, oldest first. */
  ids(server: string, cid: number): readonly string[] {
    return this.#byServer.get(server)?.ids(cid) ?? [];
  }

  clear(): void {
    this.#byServer.clear();
  }
}
