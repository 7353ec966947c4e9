import { createServer } from "node:net";

/**
 * Ports this process was given already. A test that asks for two ports before it binds either
 * could get the same one twice (the kernel hands out a port just closed again), and the second
 * server then failed with "Address already in use" (tests/e2e/long_url_test.ts, in CI).
 */
const given = new Set<number>();
const MAX_TRIES = 100;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for configs that must name a port), and
 * never one this process was given before.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const port = await unusedPort();
    if (given.has(port)) continue;
    given.add(port);
    return port;
  }
  throw new Error(`No port found that this process was not given already (${MAX_TRIES} tries)`);
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
