/**
 * The connection guard's sockets keep their promises on both runtimes: the released binary is
 * built with Bun, whose transport is Bun's own TCP API, while `deno run` uses Deno's sockets.
 * Back-pressure, half-close, closing against a peer that never closes, refused connections.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { runUnderBun } from "../../support/bun_child.ts";
import { type ContractObservations, observeGuardTransport } from "./_guard_transport_contract.ts";

function assertContract(runtime: string, seen: ContractObservations): void {
  const report = `${runtime}: ${JSON.stringify(seen)}`;
  assert(seen.echoIntact, `4 MiB through a slow reader came back changed or short: ${report}`);
  assertEquals(seen.halfCloseRequest, "request", report);
  assertEquals(seen.halfCloseAnswer, "answer after end", report);
  assertEquals(seen.releasedByClose, 20, `close() kept descriptors: ${report}`);
  assertEquals(seen.closedPeers, 20, `peers not told of the close: ${report}`);
  // Socket buffers on loopback take a few MiB; the rest must wait with the writer.
  assert(seen.stalledWriterDone < 16 * 1024 * 1024, `no back-pressure: ${report}`);
  assert(seen.refusedConnectRejected, report);
  assert(seen.failedHandlerSettled, report);
}

Deno.test("Deno: the guard's sockets relay with back-pressure, half-close, close and refuse", async () => {
  assertContract("Deno", await observeGuardTransport());
});

Deno.test("Bun: the guard's sockets relay with back-pressure, half-close, close and refuse", async () => {
  const seen = await runUnderBun(
    new URL("./_guard_transport_bun_child.ts", import.meta.url),
    [],
  ) as ContractObservations;
  assertContract("Bun", seen);
});
