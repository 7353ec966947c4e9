/**
 * Stores hand out frozen snapshots instead of copies: no caller can change stored state
 * through a result, and a REAUTH costs no deep copy. Callers build changed entries with spread.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
