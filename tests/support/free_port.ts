import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Ports this process was given already. A test that asks for two ports before it binds either
 * could get the same one twice (the kernel hands out a port just closed again), and the second
 * server then failed with "Address already in use" (tests/e2e/long_url_test.ts, in CI).
 */
const given = new Set<number>();
const MAX_TRIES = 100;

/**
 * Ports are taken below the kernel's ephemeral range when it leaves room: a server that binds
 * port 0 (the test IdP, a fake management interface) gets its port from that range, so it can
 * never be handed a port given here that the test has not bound yet. With ports from the range
 * itself, the probe test's IdP once got the port meant for the bridge (its /healthz check then
 * reached the IdP).
 */
const LOWEST = 20_000;
const EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range";
const outside = portsBelowEphemeralRange();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for configs that must name a port), and
 * never one this process was given before.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const port = outside === undefined
      ? await unusedPort(0)
      : await unusedPort(outside.low + Math.floor(Math.random() * (outside.high - outside.low)));
    if (port === undefined || given.has(port)) continue;
    given.add(port);
    return port;
  }
  throw new Error(`No port found that this process was not given already (${MAX_TRIES} tries)`);
}

/** Ports from LOWEST up to the ephemeral range (exclusive), when at least 1,000 lie there. */
export function portsBelowEphemeralRange(): { low: number; high: number } | undefined {
  let low: number;
  try {
    low = Number(readFileSync(EPHEMERAL_RANGE, "utf8").trim().split(/\s+/)[0]);
  } catch {
    return undefined; // not Linux: ports from the kernel, as bind(0) gives them
  }
  return Number.isInteger(low) && low - LOWEST >= 1000 ? { low: LOWEST, high: low } : undefined;
}

/** The port bound and released, or undefined when it is taken. */
function unusedPort(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: Error & { code?: string }) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(undefined);
      else reject(error);
    });
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}
