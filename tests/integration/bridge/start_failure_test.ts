/**
 * A start that fails part-way closes what it had started: here http.listen is taken, after the
 * file store was opened (with its owner lock) and the sweeper started. The same process can
 * then start the service on the same session file once the address is free; before, the lock
 * stayed held and the second start was refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertRejects } from "../../support/assert.ts";
import { serviceConfig } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { startDaemon } from "../../../src/daemon.ts";

Deno.test("a start that fails at the HTTP listener releases the session file, and the next start works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "start-failure-test-"));
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
  try {
    const management = openvpn.address.kind === "tcp" ? openvpn.address.port : 0;
    const config = serviceConfig({
      management,
      listen: port,
      sections: `
[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"

[control]
socket = ""
`,
    });
    await assertRejects(() => startDaemon(config));
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    const service = await startDaemon(config);
    await service.stop();
  } finally {
    if (taken.listening) taken.close();
    await openvpn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the start-up line names where the pages are served, with no empty quoted part", async () => {
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const log = captureStderr();
  try {
    const management = openvpn.address.kind === "tcp" ? openvpn.address.port : 0;
    const port = await freePort();
    const config = serviceConfig({
      management,
      listen: port,
      sections: `[control]\nsocket = ""\n`,
    });
    const service = await startDaemon(config);
    await service.stop();
    const line = log.lines().find((text) => text.includes("Serving sign-in pages"));
    assert(line, log.lines().join("\n"));
    // Before, the optional cluster part printed as "" after the URL.
    assert(line.endsWith(`:${port} for "${config.http.baseUrl.href}"`), line);
  } finally {
    log.restore();
    await openvpn.stop();
  }
});
