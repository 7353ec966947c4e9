/** What a store throws once closed: one text for all three (the contract tests match it). */
export function storeClosedError(store: "memory" | "sqlite" | "redis"): Error {
  return new Error(`Session store is closed: ${store}`);
}
