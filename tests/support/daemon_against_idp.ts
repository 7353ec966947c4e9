/**
 * The whole daemon started against an IdP of the test's own (a bare HTTP handler, for what the
 * test IdP cannot play: discovery that fails, metadata without an endpoint) and a scripted
 * management server, with its control socket in a temporary directory; everything it started is
 * stopped and removed after `body`, which may stop the service itself first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceConfig } from "./bridge_harness.ts";
import { FakeClock } from "./fake_clock.ts";
import { FakeManagementServer } from "./fake_management_server.ts";
import { freePort } from "./free_port.ts";
import { captureLogs } from "./log_capture.ts";
import type { Clock } from "../../src/clock.ts";
import type { RunningService } from "../../src/cli.ts";
import { startDaemon } from "../../src/daemon.ts";

export async function withDaemonAgainstIdp(
  options: {
    /** Answers every request to the IdP; `issuer` is its address. */
    idp: (request: Request, issuer: string) => Response | Promise<Response>;
    /** TOML after [openvpn], [http] and [oidc] (no [control]: it is added). */
    sections: string;
    clock?: Clock;
    /** Called first when cleaning up (release what the IdP handler waits for). */
    beforeCleanup?: () => void;
  },
  body: (service: RunningService) => Promise<void>,
): Promise<void> {
  let idp: Deno.HttpServer<Deno.NetAddr> | undefined;
  let openvpn: FakeManagementServer | undefined;
  let dir: string | undefined;
  let service: RunningService | undefined;
  try {
    idp = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => options.idp(request, `http://127.0.0.1:${idp!.addr.port}`),
    );
    openvpn = await FakeManagementServer.start({ transport: "tcp" });
    dir = mkdtempSync(join(tmpdir(), "daemon-idp-test-"));
    const config = serviceConfig({
      management: openvpn.address.kind === "tcp" ? openvpn.address.port : 0,
      listen: await freePort(),
      issuer: `http://127.0.0.1:${idp.addr.port}`,
      sections: `${options.sections}\n[control]\nsocket = "${join(dir, "control.sock")}"\n`,
    });
    service = await startDaemon(config, options.clock ? { clock: options.clock } : {});
    await body(service);
  } finally {
    options.beforeCleanup?.();
    await service?.stop();
    await idp?.shutdown();
    await openvpn?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * withDaemonAgainstIdp() for a test of the bridge's discovery: /vpn-users allowed, errors only
 * on stderr, every timer armed on a FakeClock that never fires one by itself (the test sees them
 * armed without waiting for any), and an IdP handler that may hold its answers on `released`
 * until the test calls `release()`, or at cleanup at the latest, so that no request is left
 * waiting. `body` sees the log lines from its start on: captured after the start, which sets up
 * the bridge's own logging.
 */
export async function withHeldDiscovery(
  idp: (request: Request, issuer: string, released: Promise<void>) => Promise<Response>,
  body: (t: {
    service: RunningService;
    clock: FakeClock;
    logs: ReturnType<typeof captureLogs>;
    release: () => void;
  }) => Promise<void>,
): Promise<void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const clock = new FakeClock();
  let logs: ReturnType<typeof captureLogs> | undefined;
  await withDaemonAgainstIdp({
    idp: (request, issuer) => idp(request, issuer, released),
    sections: `
[authorization]
allowed_groups = ["/vpn-users"]

[log]
level = "error"
`,
    clock,
    beforeCleanup: () => {
      release();
      logs?.stop();
    },
  }, async (service) => {
    logs = captureLogs();
    await body({ service, clock, logs, release });
  });
}
