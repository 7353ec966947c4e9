/**
 * One copy of what many sessions hold alike: the group and role lists, and nested claims such
 * as Keycloak's `realm_access` or `resource_access`, are the same for every member of a group.
 * A memory store keeps each such value once instead of once per session.
 *
 * A shared value is frozen, as a change made through one session would show in all the others,
 * and held weakly: once no session holds it, it is collected and its key forgotten. A value is
 * found again by its JSON text, so two values are shared only when they are the same JSON.
 */

type Json = Record<string, unknown> | unknown[];

export class SharedValues {
  readonly #byText = new Map<string, WeakRef<Json>>();
  readonly #collected = new FinalizationRegistry<string>((text) => {
    if (this.#byText.get(text)?.deref() === undefined) this.#byText.delete(text);
  });

  /** The shared copy of a list of strings. */
  list(list: readonly string[]): string[] {
    return this.#shared(JSON.stringify(list)) as string[];
  }

  /**
   * A copy of `claims` as a JSON round trip would make it (undefined and functions left out,
   * NaN as null, BigInt a TypeError), its nested lists and objects the shared copies. Strings
   * are kept as given: they cannot change, and a claim such as `sub` that is also a field of the
   * session then stays one string.
   */
  claims(claims: Record<string, unknown>): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const name of Object.keys(claims)) {
      const value = claims[name];
      if (typeof value === "string") {
        setOwn(copy, name, value);
        continue;
      }
      const text = JSON.stringify(value);
      if (text === undefined) continue;
      setOwn(
        copy,
        name,
        typeof value === "object" && value !== null ? this.#shared(text) : JSON.parse(text),
      );
    }
    return copy;
  }

  #shared(text: string): unknown {
    const known = this.#byText.get(text)?.deref();
    if (known !== undefined) return known;
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? this.#keep(value as Json, text) : value;
  }

  /** Shares `value` (parsed from `text`, so plain JSON) and, first, everything nested in it. */
  #keep(value: Json, text: string): Json {
    const fields = value as Record<string, unknown>;
    for (const name of Object.keys(fields)) {
      const child = fields[name];
      if (typeof child === "object" && child !== null) {
        const childText = JSON.stringify(child);
        fields[name] = this.#byText.get(childText)?.deref() ?? this.#keep(child as Json, childText);
      }
    }
    Object.freeze(value);
    this.#byText.set(text, new WeakRef(value));
    this.#collected.register(value, text);
    return value;
  }
}

/** `target[name] = value`, also for a claim named `__proto__` (an own property, as JSON has it). */
function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === "__proto__") {
    Object.defineProperty(target, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[name] = value;
  }
}
