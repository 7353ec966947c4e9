/**
 * The slow-client attack as a process of its own, for tests that run it inside a network
 * namespace they created (`ip netns exec NS deno run -A slow_client_attack_child.ts PLAN`):
 * waits for the target's /healthz there, attacks, and prints the figures as one JSON line.
 */
import { type AttackPlan, slowClientAttack } from "./slow_client_attack.ts";

const READY_WAIT_MS = 20_000;

const plan = JSON.parse(Deno.args[0] ?? "{}") as AttackPlan;
const readyBy = Date.now() + READY_WAIT_MS;
for (;;) {
  const health = await fetch(`http://127.0.0.1:${plan.port}/healthz`).catch(() => undefined);
  if (health) {
    await health.body?.cancel();
    break;
  }
  if (Date.now() > readyBy) {
    console.error(`no answer from 127.0.0.1:${plan.port} within ${READY_WAIT_MS} ms`);
    Deno.exit(2);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(JSON.stringify(await slowClientAttack(plan)));
