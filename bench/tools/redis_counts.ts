/**
 * What one REAUTH of bridge-redis asks of Redis, as counts rather than times (a shared machine
 * moves times, not counts): Redis's commands (INFO commandstats, the commands scripts run
 * included) and the bytes each way on its sockets (INFO stats), per REAUTH, over REAUTH storms
 * of a bridge with `--events` sessions after `--warm` storms that are not counted, then over
 * `--paced` REAUTHs sent one at a time (each its own store call). The counters are reset before
 * each phase (CONFIG RESETSTAT) and read by the INFO that ends it, whose reply they do not hold.
 *
 *   deno run -A bench/tools/redis_counts.ts [--events 10000] [--warm 3] [--storms 2]
 *     [--paced 300]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { blocksFor } from "../scenarios/storms.ts";
import { startResponder } from "../scenarios/responders.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    events: { type: "string", default: "10000" },
    warm: { type: "string", default: "3" },
    storms: { type: "string", default: "2" },
    paced: { type: "string", default: "300" },
  },
});
const events = Number(values.events);
const paced = Number(values.paced);

const responder = await startResponder("bridge-redis", events);
const client = new Redis(responder.redis!.port, "127.0.0.1");
try {
  let round = 0;
  for (let i = 0; i < Number(values.warm); i++) {
    await responder.server.run(blocksFor("REAUTH", events, round++));
  }
  await client.config("RESETSTAT");
  let reauths = 0;
  for (let i = 0; i < Number(values.storms); i++) {
    reauths += (await responder.server.run(blocksFor("REAUTH", events, round++))).answered;
  }
  report(`storms (${reauths} REAUTHs)`, await client.info("all"), reauths);
  await client.config("RESETSTAT");
  const one = await responder.server.run(blocksFor("REAUTH", paced, round++), {
    ratePerSec: paced,
  });
  report(`paced, one at a time (${one.answered} REAUTHs)`, await client.info("all"), one.answered);
} finally {
  client.disconnect();
  await responder.stop();
}

function report(phase: string, info: string, reauths: number): void {
  const per = (count: number) => (count / reauths).toFixed(4);
  console.log(`${phase}, per REAUTH:`);
  for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    // The reset and this reading, not the bridge's.
    if (name === "info" || name!.startsWith("config")) continue;
    console.log(`  ${name!.padEnd(12)} ${per(Number(calls))}`);
  }
  const bytes = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1]);
  console.log(`  bytes to Redis   ${(bytes("total_net_input_bytes") / reauths).toFixed(1)}`);
  console.log(`  bytes from Redis ${(bytes("total_net_output_bytes") / reauths).toFixed(1)}`);
}
