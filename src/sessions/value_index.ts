/**
 * Entry ids by one value of theirs (a client's cid, a session's `sid`), so that a lookup by that
 * value reads its entries instead of every entry. A value usually names one entry, so an id set
 * is made only when a second one comes: most keys cost a map slot and nothing more.
 */
export class ValueIndex<K> {
  readonly #ids = new Map<K, string | Set<string>>();

  get size(): number {
    return this.#ids.size;
  }

  add(key: K, id: string): void {
    const held = this.#ids.get(key);
    if (held === undefined) this.#ids.set(key, id);
    else if (typeof held === "string") {
      if (held !== id) this.#ids.set(key, new Set([held, id]));
    } else held.add(id);
  }

  remove(key: K, id: string): void {
    const held = this.#ids.get(key);
    if (held === undefined) return;
    if (typeof held === "string") {
      if (held === id) this.#ids.delete(key);
    } else {
      held.delete(id);
      if (held.size === 1) this.#ids.set(key, held.values().next().value!);
    }
  }

  /** The ids indexed under `key`, oldest first. */
  ids(key: K): readonly string[] {
    const held = this.#ids.get(key);
    if (held === undefined) return [];
    return typeof held === "string" ? [held] : [...held];
  }

  clear(): void {
    this.#ids.clear();
  }
}
