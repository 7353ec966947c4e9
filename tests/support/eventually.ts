import { StoreUnavailableError } from "../../src/sessions/store_unavailable.ts";

/**
 * Retries a store call that fails as unavailable while its client reconnects: every 50 ms, up
 * to `attempts` calls; any other failure, or the last one, is thrown.
 */
export async function eventually<T>(call: () => Promise<T>, attempts = 100): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
