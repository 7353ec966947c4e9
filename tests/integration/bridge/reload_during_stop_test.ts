/**
 * A reload under way when the service stops (SIGHUP, then SIGTERM) finishes before the stop
 * closes the listeners: what it bound (here a metrics endpoint moved to another port) is closed
 * too, not left listening after the service stopped. A reload asked for after the stop began is
 * refused.
 */
import { connect } from "node:net";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { serviceConfig } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { startDaemon } from "../../../src/daemon.ts";

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

Deno.test("a reload under way when the service stops is closed with it; one asked for after is refused", async () => {
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  try {
    const [port, metricsBefore, metricsAfter] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const management = openvpn.address.kind === "tcp" ? openvpn.address.port : 0;
    const config = (metricsPort: number) =>
      serviceConfig({
        management,
        listen: port,
        sections: `
[control]
socket = ""

[metrics]
listen = "127.0.0.1:${metricsPort}"
`,
      });
    const service = await startDaemon(config(metricsBefore));
    const reloading = service.reload!(config(metricsAfter));
    const stopped = service.stop();
    // Refused by the stop, not by something else going wrong (a port already bound, say).
    await assertRejects(
      () => service.reload!(config(metricsAfter)),
      Error,
      "The service is stopping: not reloaded",
    );
    // The first reload was under way before the stop: it completes (and moved the metrics
    // endpoint, which is what the stop must then close), nothing kept back.
    assertEquals(await reloading, { kept: [] });
    await stopped;
    assertEquals([await accepts(metricsBefore), await accepts(metricsAfter)], [false, false]);
  } finally {
    await openvpn.stop();
  }
});
