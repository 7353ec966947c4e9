/**
 * The single binary from `make build-bun` (dist/openvpn-auth-oidc): it starts, answers
 * --version and check-config, and runs the service until SIGTERM. `make test-binary` builds it
 * first; run alone, the tests fail when it is missing.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import {
  BINARY,
  fileStoreToml,
  killProcess,
  runBinary,
  spawnBinary,
  waitForHealthz,
  writeLocalConfig,
} from "../support/service_process.ts";

const EXAMPLE = new URL("../../server.toml.example", import.meta.url).pathname;

Deno.test("the compiled binary exists", () => {
  assert(existsSync(BINARY), `${BINARY} is missing: run make build-bun`);
});

Deno.test("the compiled binary answers --version", async () => {
  const result = await runBinary(["--version"]);
  assertEquals(result.code, 0);
  assertEquals(result.stdout, `openvpn-auth-oidc ${VERSION}\n`);
});

Deno.test("the compiled binary validates server.toml.example with check-config", async () => {
  // The example reads http.secret from the file the package makes; here from one of the test's.
  const dir = mkdtempSync(join(tmpdir(), "binary-test-"));
  try {
    writeFileSync(join(dir, "http-secret"), "k".repeat(64));
    const result = await runBinary(["check-config", "--config", EXAMPLE], {
      OPENVPN_AUTH_OIDC_HTTP_SECRET_FILE: join(dir, "http-secret"),
      // The example's own is a placeholder, refused.
      OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "issued-by-the-idp",
    });
    assertEquals(result.code, 0, result.stderr);
    assertStringIncludes(result.stdout, "valid");
    assertStringIncludes(result.stdout, 'client_secret = "***"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the compiled binary reads no .env or bunfig.toml from its working directory", async () => {
  // Bun's executables load both from the directory they run in unless built not to. Every
  // setting, the config path among them, can come from the environment, so a .env in a
  // directory others can write (an admin running `sessions revoke` from /tmp) would choose the
  // config, or the control socket the command talks to.
  const dir = mkdtempSync(join(tmpdir(), "binary-test-"));
  try {
    const planted = join(dir, "planted.toml");
    writeFileSync(join(dir, ".env"), `OPENVPN_AUTH_OIDC_CONFIG=${planted}\n`);
    writeFileSync(join(dir, "bunfig.toml"), `preload = ["./preload.ts"]\n`);
    writeFileSync(join(dir, "preload.ts"), `console.log("preloaded");\n`);
    const result = await runBinary(["check-config"], {}, dir);
    const output = result.stdout + result.stderr;
    assert(!output.includes(planted), output);
    assert(!output.includes("preloaded"), output);
    assertStringIncludes(output, "/etc/openvpn-auth-oidc/server.toml");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the compiled binary exits 2 on a bad config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "binary-test-"));
  try {
    writeFileSync(join(dir, "bad.toml"), '[openvpn]\nmanagment = "x"\n');
    const result = await runBinary(["check-config", "--config", join(dir, "bad.toml")]);
    assertEquals(result.code, 2);
    assertStringIncludes(result.stderr, 'Unknown key (did you mean "management"?)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The environment of a running process, from /proc. */
function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return new Map(entries.map((entry) => {
    const at = entry.indexOf("=");
    return [entry.slice(0, at), entry.slice(at + 1)];
  }));
}

for (const [given, expected] of [[undefined, "-1"], ["10", "10"]] as const) {
  Deno.test(`the service runs with MIMALLOC_PURGE_DELAY=${expected} when the environment ${given === undefined ? "leaves it out" : `says ${given}`}, in the process that was started`, async () => {
    const { dir, port, config } = await writeLocalConfig("binary-test-", (dir) => ({
      rest: fileStoreToml(dir),
    }));
    const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
    if (given !== undefined) env["MIMALLOC_PURGE_DELAY"] = given;
    const child = new Deno.Command(BINARY, {
      args: ["--config", config],
      stdout: "null",
      stderr: "piped",
      env,
      clearEnv: true,
    }).spawn();
    try {
      const health = await waitForHealthz(port);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      // The pid we started is the service's (execve), so a service manager's pid stays right.
      const environ = environOf(child.pid);
      assertEquals(environ.get("MIMALLOC_PURGE_DELAY"), expected);
      assertEquals(environ.get("PATH"), env["PATH"]);
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
    } finally {
      await killProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Deno.test("the compiled binary stops cleanly on SIGINT (Ctrl-C) too", async () => {
  const { dir, port, config } = await writeLocalConfig("binary-test-", (dir) => ({
    rest: fileStoreToml(dir),
  }));
  const child = spawnBinary(config);
  try {
    const health = await waitForHealthz(port);
    await health.body?.cancel();
    child.kill("SIGINT");
    const status = await child.status;
    // Stopped by its own hand (exit 0), not ended by the signal.
    assertEquals([status.code, status.signal], [0, null]);
  } finally {
    await killProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the compiled binary serves /healthz and stops cleanly on SIGTERM", async () => {
  const { dir, port, config } = await writeLocalConfig("binary-test-", (dir) => ({
    rest: fileStoreToml(dir),
  }));
  const child = spawnBinary(config);
  try {
    const health = await waitForHealthz(port);
    assertEquals(health.status, 200);
    await health.body?.cancel();
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
    await killProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
});
