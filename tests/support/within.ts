/**
 * Bounds a wait in a test: a regression that leaves a promise pending for ever then fails the
 * test with what it waited for, instead of hanging it (and the whole CI stage, killed after
 * 30 minutes with every other result lost).
 */

/**
 * `promise`, or a rejection `<what>: nothing after <ms> ms` once `ms` pass first; the timer is
 * cleared either way. `what` may be a function, called only on time-out, to report the state
 * seen then.
 *
 * @example
 * ```ts
 * const socket = await within(5_000, "the listener accepting", accepted);
 * ```
 */
export function within<T>(
  ms: number,
  what: string | (() => string),
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const described = typeof what === "string" ? what : what();
      reject(new Error(`${described}: nothing after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `target` with each call of a method that returns a promise bounded by `within(ms, ...)`: for
 * an object each of whose calls answers in milliseconds (a store), so that one left pending
 * fails its test. Methods run on `target` itself, so private fields keep working.
 */
export function withBoundedCalls<T extends object>(name: string, ms: number, target: T): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        return within(ms, `${name}.${String(key)}() gave no answer`, result);
      };
    },
  });
}
