/**
 * The single binary from `make build-bun` (dist/openvpn-auth-oidc): it starts, answers
 * --version and check-config, and runs the service until SIGTERM. `make test-binary` builds it
 * first; run alone, the tests fail when it is missing.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { freePort } from "../support/free_port.ts";

const BINARY = new URL("../../dist/openvpn-auth-oidc", import.meta.url).pathname;
const EXAMPLE = new URL("../../server.toml.example", import.meta.url).pathname;

async function run(args: string[]) {
  const output = await new Deno.Command(BINARY, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  })
    .output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the compiled binary exists", () => {
  assert(existsSync(BINARY), `${BINARY} is missing: run make build-bun`);
});

Deno.test("the compiled binary answers --version", async () => {
  const result = await run(["--version"]);
  assertEquals(result.code, 0);
  assertEquals(result.stdout, `openvpn-auth-oidc ${VERSION}\n`);
});

Deno.test("the compiled binary validates server.toml.example with check-config", async () => {
  const result = await run(["check-config", "--config", EXAMPLE]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "valid");
  assertStringIncludes(result.stdout, 'client_secret = "***"');
});

Deno.test("the compiled binary exits 2 on a bad config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "binary-test-"));
  try {
    writeFileSync(join(dir, "bad.toml"), '[openvpn]\nmanagment = "x"\n');
    const result = await run(["check-config", "--config", join(dir, "bad.toml")]);
    assertEquals(result.code, 2);
    assertStringIncludes(result.stderr, 'Unknown key (did you mean "management"?)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the compiled binary serves /healthz and stops cleanly on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "binary-test-"));
  const port = await freePort();
  const config = join(dir, "server.toml");
  writeFileSync(
    config,
    `[openvpn]
management = "unix://${join(dir, "absent.sock")}"
[http]
listen = "127.0.0.1:${port}"
base_url = "http://127.0.0.1:${port}"
secret = "binary-test-secret-binary-test-secret"
[oidc]
issuer = "http://127.0.0.1:9/realms/none"
client_id = "openvpn"
client_secret = "x"
[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"
[control]
socket = "${join(dir, "control.sock")}"
[log]
level = "error"
`,
  );
  const child = new Deno.Command(BINARY, {
    args: ["--config", config],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    let health: Response | undefined;
    for (let i = 0; i < 100 && !health; i++) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!health) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals(health?.status, 200);
    await health?.body?.cancel();
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assertEquals(ready.status, 503);
    assertEquals(await ready.json(), {
      ready: false,
      management: false,
      servers: { default: false },
      idp: false,
    });
    child.kill("SIGTERM");
    const status = await child.status;
    assertEquals(status.code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.stderr.cancel().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
