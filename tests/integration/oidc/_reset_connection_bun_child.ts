/**
 * reset_connection_test.ts's run on Bun: the race against Bun's fetch, printed as JSON.
 *
 *   bun tests/integration/oidc/_reset_connection_bun_child.ts
 */
import { refreshOverResetConnection } from "./_reset_connection_scenario.ts";

console.log(JSON.stringify(await refreshOverResetConnection()));
