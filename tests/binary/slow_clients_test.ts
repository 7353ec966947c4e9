/**
 * A bounded slow-client attack against the compiled binary and `deno run`, under an open-file
 * limit smaller than the attack: connections that send nothing, drip their headers in, or sit
 * idle after a response are all closed, the service lives on, and a normal client (another
 * address) is served throughout. The service and the attack run in a network namespace the
 * test creates, whose loopback (all of 127.0.0.0/8) is the test's own: the attacker comes from
 * 127.0.0.1, the normal client from 127.0.0.2. Figures: bench/slow_clients.ts.
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { AttackFigures, AttackPlan } from "../support/slow_client_attack.ts";
import { startTarget } from "../support/listener_target.ts";
import { createLoopbackNamespace } from "../e2e/lib/netns.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";

const skip = announceSkip(
  "the slow-client attack",
  Deno.uid() !== 0
    ? "needs root (a network namespace of its own)"
    : findExecutable("ip") === undefined
    ? "missing ip (apt-get install iproute2)"
    : undefined,
);
const CHILD = new URL("../support/slow_client_attack_child.ts", import.meta.url).pathname;

/** Runs the attack inside `netns` and returns its figures. */
async function attackIn(netns: string, plan: AttackPlan): Promise<AttackFigures> {
  const output = await new Deno.Command("ip", {
    args: ["netns", "exec", netns, Deno.execPath(), "run", "-A", CHILD, JSON.stringify(plan)],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(text.split("\n").at(-1)!) as AttackFigures;
}

for (const runtime of ["binary", "deno"] as const) {
  Deno.test({
    name:
      `${runtime}: slow and idle clients are closed, descriptors run out without a crash, normal requests are served`,
    ignore: skip !== undefined,
    async fn() {
      const netns = await createLoopbackNamespace(`slow-${runtime}`);
      try {
        const target = await startTarget({
          runtime,
          openFiles: 256,
          // A cap above what 256 descriptors allow: the service lowers it instead of running out.
          httpLines: [
            "max_connections = 1000",
            'header_timeout = "1s"',
            'idle_timeout = "1s"',
          ],
          netns: netns.name,
        });
        let stderr = "";
        try {
          const figures = await attackIn(netns.name, {
            port: target.port,
            silent: 150,
            drip: 100,
            idle: 50,
            dripIntervalMs: 200,
            durationMs: 5_000,
            drainMs: 15_000,
            normalFrom: "127.0.0.2",
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
      } finally {
        await netns.destroy();
      }
    },
  });
}
