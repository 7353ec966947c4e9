/**
 * The bridge discovers the IdP in the background and retries while it is down. A bridge stopped
 * while a discovery is under way must not retry when that discovery fails afterwards: the retry
 * timer would keep a process that embeds the bridge (or a test) alive, warning every 5 s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEquals } from "../../support/assert.ts";
import { parseHarnessToml } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { startDaemon } from "../../../src/daemon.ts";

Deno.test("a discovery that fails after the bridge stopped is not retried", async () => {
  let discoveries = 0;
  let release!: () => void;
  const stopped = new Promise<void>((resolve) => (release = resolve));
  // An IdP that is down: its discovery answers 503, once the bridge has stopped.
  const idp = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    discoveries++;
    await stopped;
    return new Response("unavailable", { status: 503 });
  });
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const dir = mkdtempSync(join(tmpdir(), "discovery-stop-test-"));
  const port = await freePort();
  const management = openvpn.address.kind === "tcp" ? openvpn.address.port : 0;
  const config = parseHarnessToml(`
[openvpn]
management = "tcp://127.0.0.1:${management}"

[http]
listen = "127.0.0.1:${port}"
base_url = "http://127.0.0.1:${port}"
secret = "test-secret-test-secret-test-secret-0123"

[oidc]
issuer = "http://127.0.0.1:${idp.addr.port}"
client_id = "openvpn"
client_secret = "bridge-test-secret"

[authorization]
allowed_groups = ["/vpn-users"]

[sessions]
backend = "memory"

[control]
socket = "${join(dir, "control.sock")}"

[log]
level = "error"
`);
  const service = await startDaemon(config);
  // After the start, which sets up the bridge's own logging.
  const logs = captureLogs();
  try {
    await service.stop();
    release();
    // The bridge reads the 503 in a few ms; a retry would be warned about at once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(discoveries, 1);
    assertEquals(logs.lines.filter((line) => line.text.startsWith("OIDC discovery")), []);
  } finally {
    release();
    logs.stop();
    await idp.shutdown();
    await openvpn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
