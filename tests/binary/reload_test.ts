/**
 * SIGHUP in the compiled binary: the config file is read again; a valid one moves the metrics
 * listener and its errors go to stderr; a broken one is refused and the running one stays.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/free_port.ts";
import { killProcess, localConfigToml, spawnBinary } from "../support/service_process.ts";

function configText(dir: string, port: number, metricsPort: number, groups = '["/vpn"]'): string {
  return localConfigToml({
    dir,
    port,
    rest: `[authorization]
allowed_groups = ${groups}
[sessions]
backend = "memory"
[metrics]
listen = "127.0.0.1:${metricsPort}"
[log]
level = "warning"
`,
  });
}

async function status(url: string): Promise<number | "refused"> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.status;
  } catch {
    return "refused";
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("the compiled binary reloads its config on SIGHUP and refuses a broken one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "binary-reload-"));
  const [port, first, second] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, "server.toml");
  writeFileSync(config, configText(dir, port, first));
  const child = spawnBinary(config, { NO_COLOR: "1" });
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let logged = "";
  const readLog = (async () => {
    while (true) {
      const { done, value } = await stderr.read();
      if (done) return;
      logged += value;
    }
  })();
  try {
    await waitFor(
      async () => (await status(`http://127.0.0.1:${first}/metrics`)) === 200,
      "metrics",
    );

    writeFileSync(config, configText(dir, port, second));
    child.kill("SIGHUP");
    await waitFor(
      async () => (await status(`http://127.0.0.1:${second}/metrics`)) === 200,
      "the moved metrics listener",
    );
    assertEquals(await status(`http://127.0.0.1:${first}/metrics`), "refused");

    writeFileSync(config, configText(dir, port, first, "7"));
    child.kill("SIGHUP");
    await waitFor(() => Promise.resolve(logged.includes("Reload refused")), "the refusal");
    assertStringIncludes(logged, "authorization.allowed_groups");
    assertEquals(await status(`http://127.0.0.1:${second}/metrics`), 200);
    assertEquals(await status(`http://127.0.0.1:${port}/healthz`), 200);

    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    await killProcess(child);
    await readLog.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
