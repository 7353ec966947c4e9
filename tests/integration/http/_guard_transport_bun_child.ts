/**
 * guard_transport_test.ts's run on Bun: the contract against Bun's transport, printed as JSON.
 *
 *   bun tests/integration/http/_guard_transport_bun_child.ts
 */
import { observeGuardTransport } from "./_guard_transport_contract.ts";

console.log(JSON.stringify(await observeGuardTransport()));
