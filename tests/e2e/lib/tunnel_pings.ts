/**
 * Waits until a round of 3 pings through the tunnel is answered in full: a renegotiation or a
 * reconnect may cost a ping or two while the new key settles, which says nothing about whether
 * the tunnel is up. The last round's output goes with a failure.
 */
import type { Lab } from "./lab.ts";
import { pollUntil } from "./wait.ts";

export async function assertTunnelCarriesPings(lab: Lab): Promise<void> {
  let last = "";
  await pollUntil(
    "3 of 3 pings through the tunnel",
    async () => {
      const ping = await lab.pingServer(3);
      last = ping.output;
      return ping.allReplied ? true : undefined;
    },
    15_000,
    200,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\n${last}`);
  });
}
