/**
 * One copy of what many sessions hold alike: the group and role lists, and nested claims such
 * as Keycloak's `realm_access` or `resource_access`, are the same for every member of a group.
 * A memory store keeps each such value once instead of once per session.
 *
 * A shared value is frozen, as a change made through one session would show in all the others,
 * and held weakly: once no session holds it, it is collected and its key forgotten. A value is
 * found again by its JSON text, so two values are shared only when they are the same JSON.
 *
 * The values shared last are first compared field by field, without making their JSON text: a
 * put then leaves no garbage behind for its lists and nested claims. On Bun, whose allocator
 * keeps freed memory for reuse (allocator_restart.ts), the resident memory after a burst of
 * 100,000 puts is their live data plus the garbage they left: making those texts on every put
 * cost ~120 B per session there (2,130-2,160 against 1,980-2,070).
 */

type Json = Record<string, unknown> | unknown[];

export class SharedValues {
  readonly #byText = new Map<string, WeakRef<Json>>();
  readonly #collected = new FinalizationRegistry<string>((text) => {
    if (this.#byText.get(text)?.deref() === undefined) this.#byText.delete(text);
  });
  /** The values shared last, newest at the end (see `#recentCopy`). */
  readonly #recent: Array<WeakRef<Json>> = [];

  /** The shared copy of a list of strings. */
  list(list: readonly string[]): string[] {
    return (this.#recentCopy(list) ?? this.#shared(JSON.stringify(list))) as string[];
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
      const known = this.#recentCopy(value);
      if (known !== undefined) {
        setOwn(copy, name, known);
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
    let known = this.#byText.get(text)?.deref();
    if (known === undefined) {
      const value = JSON.parse(text);
      if (typeof value !== "object" || value === null) return value;
      known = this.#keep(value as Json, text);
    }
    this.#recent.push(new WeakRef(known));
    if (this.#recent.length > RECENT_VALUES) this.#recent.shift();
    return known;
  }

  /** A recently shared value whose JSON would be the same as `value`'s, if there is one. */
  #recentCopy(value: unknown): Json | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const known = this.#recent[i]!.deref();
      if (known !== undefined && sameJson(value, known, 0)) return known;
    }
    return undefined;
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

/** How many recently shared values a put compares with before it makes JSON text. */
const RECENT_VALUES = 16;
/** Deeper values are left to JSON.stringify (which also stops a value that refers to itself). */
const MAX_COMPARED_DEPTH = 32;

/**
 * True only when `JSON.stringify(value)` would equal the text `known` was parsed from: plain
 * objects and arrays of strings, finite numbers, booleans and null, with the same keys in the
 * same order. Anything JSON would turn into something else (undefined, NaN, a `toJSON`, a boxed
 * primitive, a class instance) answers false, and the caller makes the text after all.
 */
function sameJson(value: unknown, known: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "number": // `known` came from JSON, so it holds no NaN or Infinity that could match
    case "boolean":
      return value === known;
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return known === null;
  if (typeof known !== "object" || known === null || depth >= MAX_COMPARED_DEPTH) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  if (Array.isArray(value)) {
    if (!Array.isArray(known) || value.length !== known.length) return false;
    for (let i = 0; i < value.length; i++) {
      if (!sameJson(value[i], known[i], depth + 1)) return false;
    }
    return true;
  }
  const prototype = Object.getPrototypeOf(value);
  if ((prototype !== Object.prototype && prototype !== null) || Array.isArray(known)) return false;
  const keys = Object.keys(value);
  const knownKeys = Object.keys(known);
  if (keys.length !== knownKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== knownKeys[i]) return false;
    if (
      !sameJson(
        (value as Record<string, unknown>)[key],
        (known as Record<string, unknown>)[key],
        depth + 1,
      )
    ) return false;
  }
  return true;
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
