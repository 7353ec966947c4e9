/**
 * Process-wide cleanup registry for the end-to-end lab.
 *
 * Every lab registers its teardown here so that a test that throws, a demo interrupted with
 * Ctrl-C, or a SIGTERM from CI still kills the openvpn processes and deletes the namespaces it
 * created. Normal code paths call `dispose()` in a `finally`; this registry is the safety net.
 */

type CleanupFn = () => Promise<void> | void;

interface Entry {
  readonly label: string;
  readonly fn: CleanupFn;
}

const registry = new Map<number, Entry>();
let nextId = 1;

/** Registers `fn` to run on `runAllCleanups()`; returns a function that unregisters it. */
export function registerCleanup(label: string, fn: CleanupFn): () => void {
  const id = nextId++;
  registry.set(id, { label, fn });
  return () => {
    registry.delete(id);
  };
}

/** The latest `runAllCleanups()`, so that a second call waits for the first to finish. */
let cleanupsRunning: Promise<void> = Promise.resolve();

/**
 * Runs every registered cleanup, newest first; failures are reported, never thrown. Calls are
 * serialised: one made while another runs (a signal during an error path) waits for it.
 */
export function runAllCleanups(): Promise<void> {
  cleanupsRunning = cleanupsRunning.then(async () => {
    const entries = [...registry.entries()].reverse();
    registry.clear();
    for (const [, entry] of entries) {
      try {
        await entry.fn();
      } catch (error) {
        console.error(`Cleanup failed: ${entry.label}:`, error);
      }
    }
  });
  return cleanupsRunning;
}

/**
 * Runs all cleanups and exits on SIGINT/SIGTERM. For long-running programs such as the demo;
 * tests rely on try/finally instead (a signal listener would trip Deno's test sanitizers).
 * Returns a function that removes the listeners again.
 */
export function installSignalCleanup(): () => void {
  const handlers: Array<[Deno.Signal, () => void]> = [];
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const handler = () => {
      console.error(`Received ${signal}: cleaning up the lab`);
      runAllCleanups().finally(() => Deno.exit(code));
    };
    Deno.addSignalListener(signal, handler);
    handlers.push([signal, handler]);
  }
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}

/**
 * A LIFO stack of teardown steps owned by one lab (or one helper). It is registered in the
 * process-wide registry until disposed, so signal handlers reach it too.
 */
export class CleanupStack {
  readonly #steps: Array<Entry> = [];
  readonly #unregister: () => void;
  #disposed = false;
  /** The running (or finished) teardown, so a second caller waits for it instead of racing. */
  #disposing: Promise<Error[]> | undefined;

  constructor(label: string) {
    this.#unregister = registerCleanup(label, async () => {
      for (const error of await this.dispose()) console.error(error);
    });
  }

  /** Adds a teardown step; steps run in reverse order of addition. */
  defer(label: string, fn: CleanupFn): void {
    if (this.#disposed) throw new Error(`Cleanup stack already disposed: cannot add ${label}`);
    this.#steps.push({ label, fn });
  }

  /**
   * Runs every step once, newest first; returns the errors instead of stopping at the first.
   * A call while a teardown is under way (a signal handler and a `finally` at once) resolves
   * only when that teardown is done, with no errors of its own.
   */
  dispose(): Promise<Error[]> {
    if (this.#disposing !== undefined) return this.#disposing.then(() => []);
    this.#disposed = true;
    this.#unregister();
    this.#disposing = this.#runSteps();
    return this.#disposing;
  }

  async #runSteps(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.fn();
      } catch (error) {
        errors.push(new Error(`Cleanup failed: ${step.label}`, { cause: error }));
      }
    }
    return errors;
  }
}

/** What a test builds in the lab that can tell what went wrong and be torn down. */
export interface Diagnosable {
  diagnostics(): Promise<string>;
  dispose(): Promise<void>;
}

/** Runs `body` on `made`; prints its diagnostics if `body` throws, and always disposes it. */
export async function useDiagnosed<R extends Diagnosable, T>(
  made: R,
  body: (made: R) => Promise<T>,
): Promise<T> {
  try {
    return await body(made);
  } catch (error) {
    console.error(await made.diagnostics().catch((e) => `Diagnostics failed: ${e}`));
    throw error;
  } finally {
    await made.dispose();
  }
}
