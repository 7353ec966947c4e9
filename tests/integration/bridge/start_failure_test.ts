/**
 * A start that fails part-way closes what it had started, and so does a stop: the file store's
 * owner lock is released, so the same process can start the service again on the same session
 * file (a restart embedded in a test or a supervisor) instead of being refused as a second
 * owner. Here http.listen is taken, after the file store was opened (with its owner lock) and
 * the sweeper started, or the control socket cannot be bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { assert, assertRejects } from "../../support/assert.ts";
import { serviceConfig } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { startDaemon } from "../../../src/daemon.ts";
import { VERSION } from "../../../src/version.ts";

/**
 * A service with its file store in a new directory, against a fake OpenVPN, serving on `port`;
 * `config(socket)` its config with that control socket ("" for none).
 */
async function fileStoreService(port: number) {
  const dir = mkdtempSync(join(tmpdir(), "start-failure-test-"));
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const management = openvpn.address.kind === "tcp" ? openvpn.address.port : 0;
  return {
    dir,
    config: (socket = ""): ResolvedConfig =>
      serviceConfig({
        management,
        listen: port,
        sections: `
[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"

[control]
socket = "${socket}"

[log]
level = "error"
`,
      }),
    async cleanup() {
      await openvpn.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

Deno.test("a start that fails at the HTTP listener releases the session file, and the next start works", async () => {
  const port = await freePort();
  const t = await fileStoreService(port);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
  try {
    await assertRejects(() => startDaemon(t.config()));
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    const service = await startDaemon(t.config());
    await service.stop();
  } finally {
    if (taken.listening) taken.close();
    await t.cleanup();
  }
});

Deno.test("a start that fails at the control socket stops what it started: the session file and the HTTP address are free again", async () => {
  const t = await fileStoreService(await freePort());
  try {
    // A regular file where the socket's directory should be: the control socket cannot be bound.
    writeFileSync(join(t.dir, "not-a-directory"), "");
    await assertRejects(() =>
      startDaemon(t.config(join(t.dir, "not-a-directory", "control.sock")))
    );
    const service = await startDaemon(t.config());
    await service.stop();
  } finally {
    await t.cleanup();
  }
});

Deno.test("a stopped service releases the session file: the next start on it works", async () => {
  const t = await fileStoreService(await freePort());
  try {
    await (await startDaemon(t.config())).stop();
    const again = await startDaemon(t.config());
    await again.stop();
  } finally {
    await t.cleanup();
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
    // Before, the optional cluster part printed as "" after the URL. The address is one value:
    // it read `"127.0.0.1":31171`.
    assert(
      line.endsWith(
        `Serving sign-in pages on "127.0.0.1:${port}" for "${config.http.baseUrl.href}"`,
      ),
      line,
    );
    const started = log.lines().find((text) => text.includes("Started"));
    assert(
      started?.endsWith(
        `Started openvpn-auth-oidc ${VERSION}: sessions in the "memory" store, IdP ` +
          `"${config.oidc.issuer.href}"`,
      ),
      log.lines().join("\n"),
    );
  } finally {
    log.restore();
    await openvpn.stop();
  }
});

Deno.test("the start line at info names the version, the session file and the IdP", async () => {
  const t = await fileStoreService(await freePort());
  const log = captureStderr();
  try {
    const config = t.config();
    const service = await startDaemon({ ...config, log: { ...config.log, level: "info" } });
    await service.stop();
    const started = log.lines().find((text) => text.includes("Started"));
    assert(
      started?.endsWith(
        `[INF] openvpn-auth-oidc·daemon: Started openvpn-auth-oidc ${VERSION}: sessions in the ` +
          `"file" store "${join(t.dir, "sessions.sqlite")}", IdP "${config.oidc.issuer.href}"`,
      ),
      log.lines().join("\n"),
    );
  } finally {
    log.restore();
    await t.cleanup();
  }
});
