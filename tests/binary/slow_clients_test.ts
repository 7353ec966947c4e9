/**
 * A bounded slow-client attack on 127.0.0.1 against the compiled binary and `deno run`, under
 * an open-file limit smaller than the attack: connections that send nothing, drip their
 * headers in, or sit idle after a response are all closed, the service lives on, and a normal
 * client (another address) is served throughout. Figures: bench/slow_clients.ts.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { slowClientAttack } from "../support/slow_client_attack.ts";
import { startTarget } from "../support/listener_target.ts";

for (const runtime of ["binary", "deno"] as const) {
  Deno.test(`${runtime}: slow and idle clients are closed, descriptors run out without a crash, normal requests are served`, async () => {
    const target = await startTarget({
      runtime,
      openFiles: 256,
      // A cap above what 256 descriptors allow: the service lowers it instead of running out.
      httpLines: [
        "max_connections = 1000",
        'header_timeout = "1s"',
        'idle_timeout = "1s"',
      ],
    });
    let stderr = "";
    try {
      const figures = await slowClientAttack({
        port: target.port,
        silent: 150,
        drip: 100,
        idle: 50,
        dripIntervalMs: 200,
        durationMs: 5_000,
        drainMs: 15_000,
      });
      stderr = target.stderr();
      const report = JSON.stringify(figures);
      assertEquals(target.exited(), undefined, `the service ended: ${stderr}`);
      assertEquals(figures.stillOpen, 0, report);
      assert(figures.normalOk > 0, report);
      assertEquals(figures.normalFailed, 0, report);
      assert(stderr.includes("http.max_connections lowered from 1000"), stderr);
    } finally {
      const status = await target.stop();
      assertEquals(status.code, 0, `exit status after SIGTERM: ${stderr}`);
    }
  });
}
