/**
 * What every store throws once closed: the service is stopping, so a caller that keeps work for
 * when the store answers again (a revocation) does not keep this. One text for all three (the
 * contract tests match it).
 */
export class StoreClosedError extends Error {
  override readonly name = "StoreClosedError";
}

export function storeClosedError(store: "memory" | "sqlite" | "redis"): StoreClosedError {
  return new StoreClosedError(`Session store is closed: ${store}`);
}
