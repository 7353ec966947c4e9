/**
 * graceful_close_test.ts's run on Bun: one scenario (its name and arguments as given), printed
 * as JSON.
 *
 *   bun tests/integration/http/_graceful_close_bun_child.ts held-at-stop
 */
import { runScenario } from "./_graceful_close_scenarios.ts";

console.log(JSON.stringify(await runScenario(process.argv.slice(2))));
