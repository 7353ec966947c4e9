/**
 * The README promises that at shutdown an admin command's answer is finished "for at most 5 s"
 * (a revoke included). The test of that behaviour (tests/integration/control/slow_answer_test.ts)
 * shortens the grace, so the shipped value is pinned here: the daemon starts the control server
 * without `closeGraceMs`, and the server then waits CLOSE_GRACE_MS.
 */
import { assertEquals } from "../../support/assert.ts";
import { CLOSE_GRACE_MS } from "../../../src/control/server.ts";

Deno.test("control server: close() finishes an answer under way for at most 5 s by default (README)", () => {
  assertEquals(CLOSE_GRACE_MS, 5_000);
});
