/** Built-in TLS: the listener serves https with the configured certificate and key. */
import { assertEquals } from "../../support/assert.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveHttp } from "../../../src/http/serve.ts";

Deno.test("serveHttp() serves https with the given PEM certificate and key", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tls-test-"));
  try {
    const openssl = async (...args: string[]) => {
      const result = await new Deno.Command("openssl", {
        args,
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).output();
      assertEquals(result.code, 0, `openssl ${args[0]} failed`);
    };
    // A CA and a server certificate signed by it, as a real deployment has.
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=Test CA",
    );
    await openssl(
      "req",
      ...ec,
      "-keyout",
      "key.pem",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    );
    Deno.writeTextFileSync(
      join(dir, "ext.cnf"),
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    );
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const key = readFileSync(join(dir, "key.pem"), "utf8");
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
    const client = Deno.createHttpClient({ caCerts: [readFileSync(join(dir, "ca.pem"), "utf8")] });
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
