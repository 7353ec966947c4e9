/**
 * A configured secret (password, client secret, signing key). It prints as `***` everywhere
 * (string conversion, JSON, console/inspect) so that logging a config object never leaks it;
 * the plain value is only reachable through an explicit `reveal()`.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "***";
  }

  toJSON(): string {
    return "***";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "***";
  }

  [Symbol.for("Deno.customInspect")](): string {
    return "***";
  }
}
