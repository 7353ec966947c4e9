/**
 * The service as a process for the binary tests: the compiled binary's path, a run to
 * completion (--version, check-config, admin commands), a config file for a service on a free
 * local port, and starting and force-stopping it by its process. What each test waits for
 * (/healthz, a Redis script, a metrics listener, a management command) stays in the test.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free_port.ts";

/** The single binary from `make build-bun`. */
export const BINARY = new URL("../../dist/openvpn-auth-oidc", import.meta.url).pathname;
/** The same program for Linux on arm64, from `make build-bun-arm64`. */
export const ARM64_BINARY = new URL("../../dist/openvpn-auth-oidc-arm64", import.meta.url).pathname;

/** An issuer nothing listens on (port 9, discard): the service runs with its IdP down. */
export const NO_IDP = "http://127.0.0.1:9/realms/none";

/**
 * The command that starts a compiled binary, the binary's arguments to follow: `[BINARY]`, or a
 * binary behind an emulator (`emulated`).
 */
export type BinaryCommand = readonly [string, ...string[]];

/**
 * `binary` run by a user-mode emulator (`["qemu-x86_64", "-cpu", "Nehalem"]`), without a core
 * file when it dies (a guest's core is written to the working directory, and would be the size of
 * the binary's memory).
 */
export function emulated(emulator: readonly string[], binary: string): BinaryCommand {
  return ["sh", "-c", 'ulimit -c 0 && exec "$@"', "sh", ...emulator, binary];
}

/** The program and arguments that start `command` with `args`. */
function launch(args: readonly string[], command: BinaryCommand): [string, string[]] {
  const [program, ...options] = command;
  return [program, [...options, ...args]];
}

/** Runs the binary to its end and returns its exit code, signal and output. */
export async function runBinary(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
  binary: BinaryCommand = [BINARY],
) {
  const [command, commandArgs] = launch(args, binary);
  const output = await new Deno.Command(command, {
    args: commandArgs,
    ...(cwd === undefined ? {} : { cwd }),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    signal: output.signal,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
}

export interface LocalConfigOptions {
  /** Where files the config names go (the absent management socket by default). */
  dir: string;
  /** The HTTP port (listen and base_url on 127.0.0.1). */
  port: number;
  /** `[openvpn] management`; by default a socket nobody listens on. */
  management?: string;
  /** More `[openvpn]` lines. */
  openvpnLines?: readonly string[];
  secret?: string;
  /** More `[http]` lines. */
  httpLines?: readonly string[];
  issuer?: string;
  clientSecret?: string;
  /** The sections after `[oidc]`, TOML text. */
  rest: string;
}

/** A whole config for one service on 127.0.0.1 (one OpenVPN server, one client at the IdP). */
export function localConfigToml(options: LocalConfigOptions): string {
  const management = options.management ?? `unix://${join(options.dir, "absent.sock")}`;
  const lines = (more: readonly string[] = []) => more.map((line) => `${line}\n`).join("");
  return `[openvpn]
management = "${management}"
${lines(options.openvpnLines)}[http]
listen = "127.0.0.1:${options.port}"
base_url = "http://127.0.0.1:${options.port}"
secret = "${options.secret ?? "binary-test-secret-binary-test-secret"}"
${lines(options.httpLines)}[oidc]
issuer = "${options.issuer ?? NO_IDP}"
client_id = "openvpn"
client_secret = "${options.clientSecret ?? "x"}"
${options.rest}`;
}

/** The usual end of `rest`: sessions in a file in `dir`, the control socket, errors-only log. */
export function fileStoreToml(dir: string, socket = join(dir, "control.sock")): string {
  return `[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"
[control]
socket = "${socket}"
[log]
level = "error"
`;
}

/**
 * A fresh directory (`prefix` + random, under the temp dir) holding server.toml for a service
 * on a free port; `settings` may name files in the directory. The caller removes it.
 */
export async function writeLocalConfig(
  prefix: string,
  settings: (dir: string) => Omit<LocalConfigOptions, "dir" | "port">,
): Promise<{ dir: string; port: number; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePort();
  const config = join(dir, "server.toml");
  writeFileSync(config, localConfigToml({ dir, port, ...settings(dir) }));
  return { dir, port, config };
}

/** Starts the binary on a config file; its stderr is piped for the test to read or drop. */
export function spawnBinary(
  config: string,
  env?: Record<string, string>,
  binary: BinaryCommand = [BINARY],
): Deno.ChildProcess {
  const [command, args] = launch(["--config", config], binary);
  return new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).spawn();
}

/**
 * Waits until the service answers `/healthz` and returns that answer. The service opens its
 * store (and may already work in it) before it listens, so a test that saw the store used
 * still has to wait for the listener. Bounded only as a safety net for loaded machines; given
 * the service's process, it fails as soon as that has ended, with its exit code or signal.
 */
export async function waitForHealthz(
  port: number,
  safetyNetMs = 60_000,
  child?: Deno.ChildProcess,
): Promise<Response> {
  const giveUpAt = Date.now() + safetyNetMs;
  let ended: Deno.CommandStatus | undefined;
  void child?.status.then((status) => ended = status);
  for (;;) {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (health) return health;
    if (ended !== undefined) {
      throw new Error(`The service ended (${ended.signal ?? ended.code}) before it listened`);
    }
    if (Date.now() > giveUpAt) throw new Error(`Nothing answered on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills the process (if still there) and drops its unread stderr: for a test's `finally`. */
export async function killProcess(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.stderr.cancel().catch(() => {});
}
