/**
 * slow_clients_test.ts's run on Bun: one scenario of _slow_clients_scenarios.ts, by name,
 * printed as JSON.
 *
 *   bun tests/integration/http/_slow_clients_bun_child.ts slow-bodies-rotating
 */
import { runScenario } from "./_slow_clients_scenarios.ts";

console.log(JSON.stringify(await runScenario(process.argv[2])));
