/**
 * README: a stop "finishes the answers under way", and a reload re-reads the TLS certificate.
 * The listener is a guard relaying to the runtime's HTTP server, so an answer is finished only
 * once the guard has relayed it: a stop must not close browser connections the moment the HTTP
 * server is done, and a certificate reload must neither close the public port nor drop the
 * requests under way. The HTTP servers and the guard's sockets differ between the runtimes: each
 * scenario runs on Deno in process and on Bun (the released binary's runtime) in a child.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertEquals } from "../../support/assert.ts";
import { runUnderBun } from "../../support/bun_child.ts";
import { makeServerCertificate } from "../../support/certificates.ts";
import {
  ANSWER,
  type HeldAtCertificateReload,
  type HeldAtStop,
  heldRequestAtCertificateReload,
  heldRequestAtStop,
  type Pki,
  type SlowClientsAtStop,
  slowClientsAtStop,
} from "./_graceful_close_scenarios.ts";

const BUN_CHILD = new URL("./_graceful_close_bun_child.ts", import.meta.url);
const OK = `HTTP/1.1 200 OK | ${ANSWER}`;

function assertHeldAtStop(runtime: string, seen: HeldAtStop): void {
  const report = `${runtime}: ${JSON.stringify(seen)}`;
  assertEquals(seen.answer, OK, report);
  assert(seen.stopped, `close() did not finish: ${report}`);
}

Deno.test("Deno: a request handled while close() begins gets its whole answer", async () => {
  assertHeldAtStop("Deno", await heldRequestAtStop());
});

Deno.test("Bun: a request handled while close() begins gets its whole answer", async () => {
  assertHeldAtStop("Bun", await runUnderBun(BUN_CHILD, ["held-at-stop"]) as HeldAtStop);
});

function assertSlowClientsAtStop(runtime: string, seen: SlowClientsAtStop): void {
  const report = `${runtime}: ${JSON.stringify(seen)}`;
  assert(seen.stopped, `close() waited on slow clients: ${report}`);
  assertEquals(seen.clientsEnded, 3, report);
  assertEquals(seen.openAfterStop, 0, report);
  assertEquals(seen.lingeringAnswer, OK, report);
}

Deno.test("Deno: close() finishes with silent, half-sent and lingering clients connected", async () => {
  assertSlowClientsAtStop("Deno", await slowClientsAtStop());
});

Deno.test("Bun: close() finishes with silent, half-sent and lingering clients connected", async () => {
  assertSlowClientsAtStop(
    "Bun",
    await runUnderBun(BUN_CHILD, ["slow-clients-at-stop"]) as SlowClientsAtStop,
  );
});

/** Two certificates for 127.0.0.1, each from a CA of its own, in a directory removed after. */
async function withCertificates(
  body: (dir: string, old: Pki, renewed: Pki) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "graceful-close-"));
  try {
    const pki = async (name: string) => {
      const { ca, cert, key } = await makeServerCertificate(dir, "127.0.0.1", name);
      return { ca, cert, key };
    };
    await body(dir, await pki("old"), await pki("renewed"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertHeldAtReload(runtime: string, seen: HeldAtCertificateReload): void {
  const report = `${runtime}: ${JSON.stringify(seen)}`;
  assertEquals(seen.duringReload, OK, `the port refused during the reload: ${report}`);
  assert(seen.reloadDone, `the reload waited for the held request: ${report}`);
  assertEquals(seen.afterReload, OK, `the new certificate is not served: ${report}`);
  assertEquals(seen.openedBefore, OK, `a connection opened before lost its request: ${report}`);
  assertEquals(seen.heldAnswer, OK, `the held request lost its answer: ${report}`);
}

Deno.test("Deno: a certificate reload keeps the port open and a held request gets its answer", async () => {
  await withCertificates(async (dir, old, renewed) => {
    assertHeldAtReload("Deno", await heldRequestAtCertificateReload(dir, old, renewed));
  });
});

Deno.test("Bun: a certificate reload keeps the port open and a held request gets its answer", async () => {
  await withCertificates(async (dir, old, renewed) => {
    const given = join(dir, "scenario.json");
    writeFileSync(given, JSON.stringify({ dir, old, renewed }));
    const seen = await runUnderBun(BUN_CHILD, ["held-at-certificate-reload", given]);
    assertHeldAtReload("Bun", seen as HeldAtCertificateReload);
  });
});
