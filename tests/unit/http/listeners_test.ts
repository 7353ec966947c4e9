/**
 * startListeners() leaves no port bound that it does not serve: not the sign-in port when the
 * metrics endpoint cannot start, not the metrics port after close(); prepare() refuses a
 * certificate the runtime cannot serve before anything is put in force, and a reload that fails
 * in force puts the old certificate and metrics endpoint back.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import { assert, assertRejects } from "../../support/assert.ts";
import { MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import { makeServerCertificate } from "../../support/certificates.ts";
import { freePort } from "../../support/free_port.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { type ListenerDeps, startListeners } from "../../../src/http/listeners.ts";

const DEPS: ListenerDeps = {
  buildApp: () => Promise.resolve({ fetch: () => new Response("ok") }),
  renderMetrics: () => Promise.resolve(""),
  limits: {
    maxConnections: 8,
    maxConnectionsPerClient: 8,
    headerTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
  },
  log: { info: () => {} } as unknown as Logger,
};

function configWith(
  signInPort: number,
  metricsPort: number | undefined,
  tls: { tlsCertFile: string; tlsKeyFile: string } | undefined = undefined,
): ResolvedConfig {
  const { config } = parseTestConfig(MINIMAL_TOML);
  return {
    ...config,
    http: { ...config.http, listen: { host: "127.0.0.1", port: signInPort }, ...tls },
    metrics: {
      listen: metricsPort === undefined ? undefined : { host: "127.0.0.1", port: metricsPort },
    },
  };
}

/** Whether nothing listens on 127.0.0.1:`port`: it can be bound (and is released again). */
function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

Deno.test("startListeners() whose metrics port is taken fails whole: the sign-in port is not left bound", async () => {
  const signInPort = await freePort();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assertRejects(() => startListeners(configWith(signInPort, taken.addr.port), DEPS));
    assert(isFree(signInPort), `sign-in port ${signInPort} still bound`);
  } finally {
    taken.close();
  }
});

Deno.test("Listeners.close() releases the metrics port as well as the sign-in port", async () => {
  const [signInPort, metricsPort] = [await freePort(), await freePort()];
  const listeners = await startListeners(configWith(signInPort, metricsPort), DEPS);
  await listeners.close();
  assert(isFree(signInPort), `sign-in port ${signInPort} still bound`);
  assert(isFree(metricsPort), `metrics port ${metricsPort} still bound`);
});

Deno.test("Listeners.prepare() refuses a certificate the runtime cannot serve, before it is put in force", async () => {
  const dir = mkdtempSync(join(tmpdir(), "listeners-test-"));
  const listeners = await startListeners(configWith(0, undefined), DEPS);
  try {
    // A renewal caught mid-copy: both files exist, neither is a PEM yet.
    const tls = { tlsCertFile: join(dir, "tls.pem"), tlsKeyFile: join(dir, "tls.key") };
    writeFileSync(tls.tlsCertFile, "-----BEGIN CERTIFICATE-----\ncut");
    writeFileSync(tls.tlsKeyFile, "");
    await assertRejects(() => listeners.prepare(configWith(0, undefined, tls)));
  } finally {
    await listeners.close();
    rmSync(dir, { recursive: true });
  }
});

/** Whether a TLS handshake with 127.0.0.1:`port` succeeds trusting only `ca`. */
async function servesCertificateOf(port: number, ca: string): Promise<boolean> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] });
  try {
    await conn.handshake();
    return true;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

Deno.test("a reload whose metrics move fails in force puts the old certificate and endpoint back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "listeners-test-"));
  const [old, renewed] = [
    await makeServerCertificate(dir, "127.0.0.1", "old"),
    await makeServerCertificate(dir, "127.0.0.1", "renewed"),
  ];
  const tlsOf = (pki: typeof old) => ({ tlsCertFile: pki.certFile, tlsKeyFile: pki.keyFile });
  const metricsPort = await freePort();
  const listeners = await startListeners(configWith(0, metricsPort, tlsOf(old)), DEPS);
  try {
    const next = configWith(0, metricsPort, tlsOf(renewed));
    // The same port on an address not on this host: bound only in force, where it fails.
    const moved = { ...next, metrics: { listen: { host: "198.51.100.1", port: metricsPort } } };
    const apply = await listeners.prepare(moved);
    await assertRejects(apply);
    assert(await servesCertificateOf(listeners.port, old.ca), "the old certificate is not served");
    assert(!isFree(metricsPort), "the old metrics endpoint is not back");
  } finally {
    await listeners.close();
    rmSync(dir, { recursive: true });
  }
});
