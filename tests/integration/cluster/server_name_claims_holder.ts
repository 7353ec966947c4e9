/**
 * Child process of server_name_claims_test.ts: a bridge that claims its server names and is
 * then killed with -9 (so it never releases them). Prints `claimed` once it holds them.
 * Usage: server_name_claims_holder.ts <redis url> <key prefix> <claim ms> <server>...
 */
import { systemClock } from "../../../src/clock.ts";
import { getLogger } from "../../../src/log.ts";
import { startServerNameClaims } from "../../../src/cluster/server_name_claims.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const [url, keyPrefix, claimMs, ...servers] = Deno.args;
if (url === undefined || keyPrefix === undefined || claimMs === undefined) {
  throw new Error("Usage: server_name_claims_holder.ts <url> <key prefix> <claim ms> <server>...");
}
await startServerNameClaims({
  redis: redisSettings(url, keyPrefix),
  servers,
  clock: systemClock,
  log: getLogger("sessions"),
  claimMs: Number(claimMs),
});
Deno.stdout.writeSync(new TextEncoder().encode("claimed\n"));
// Renews until killed.
setInterval(() => {}, 60_000);
