/** Built-in TLS: the listener serves https with the configured certificate and key. */
import { assertEquals } from "../../support/assert.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveHttp } from "../../../src/http/serve.ts";
import { makeServerCertificate } from "../../support/certificates.ts";

Deno.test("serveHttp() serves https with the given PEM certificate and key", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tls-test-"));
  try {
    // A CA and a server certificate signed by it, as a real deployment has.
    const { ca, cert, key } = await makeServerCertificate(dir, "127.0.0.1");
    const server = await serveHttp(
      {
        host: "127.0.0.1",
        port: 0,
        tls: { cert, key },
        maxConnections: 16,
        maxConnectionsPerClient: 16,
        headerTimeoutMs: 10_000,
        idleTimeoutMs: 10_000,
      },
      (_request, env) => new Response(`hello ${env.remoteAddr}`),
    );
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      const response = await fetch(`https://127.0.0.1:${server.port}/`, { client });
      assertEquals(await response.text(), "hello 127.0.0.1");
    } finally {
      client.close();
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
