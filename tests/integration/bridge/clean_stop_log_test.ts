/**
 * A clean stop (SIGTERM) closes the management link itself: that is no warning. Before, every
 * stop logged `[WRN] Management link ... down: "Management connection closed"`, teaching the
 * operator to ignore the line that, from OpenVPN's side, means clients cannot sign in.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { serviceConfig } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import type { RunningService } from "../../../src/cli.ts";
import { startDaemon } from "../../../src/daemon.ts";

/**
 * The service started against a fake OpenVPN (management over TCP) with its stderr captured;
 * `body` runs once the management link is up. The service is stopped after it (a second stop()
 * is a no-op), then OpenVPN, and stderr restored.
 */
async function withLinkedService(
  body: (t: {
    service: RunningService;
    openvpn: FakeManagementServer;
    log: ReturnType<typeof captureStderr>;
  }) => Promise<void>,
): Promise<void> {
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const log = captureStderr();
  try {
    const config = serviceConfig({
      management: openvpn.address.kind === "tcp" ? openvpn.address.port : 0,
      listen: await freePort(),
      sections: `[control]\nsocket = ""\n`,
    });
    const service = await startDaemon(config);
    try {
      await pollUntil(
        "the management link to come up",
        () =>
          log.lines().some((line) => line.includes("Connected to OpenVPN management")) ||
          undefined,
        5_000,
      );
      await body({ service, openvpn, log });
    } finally {
      await service.stop();
    }
  } finally {
    log.restore();
    await openvpn.stop();
  }
}

Deno.test("stopping the service logs the management link's close at info, with no warning", async () => {
  await withLinkedService(async ({ service, log }) => {
    await service.stop();
    const lines = log.lines();
    const closed = lines.filter((line) => line.includes("Management link to"));
    assertEquals(closed.length, 1, lines.join("\n"));
    assert(closed[0]!.includes("[INF]"), closed[0]);
    // The IdP of serviceConfig() is not there: its discovery warning is not this test's subject.
    const warnings = lines.filter((line) => line.includes("[WRN]") && !line.includes("discovery"));
    assertEquals(warnings, []);
  });
});

Deno.test("OpenVPN closing the management link is still a warning", async () => {
  await withLinkedService(async ({ openvpn, log }) => {
    await openvpn.closeClient();
    await pollUntil(
      "the link's loss to be logged",
      () => log.lines().find((line) => line.includes("Management link to")),
      5_000,
    );
    const down = log.lines().find((line) => line.includes("Management link to"))!;
    assert(down.includes("[WRN]") && down.includes("closed by OpenVPN"), down);
  });
});
