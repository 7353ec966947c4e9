/**
 * Runs the service (the compiled binary or `deno run src/main.ts`) under a given open-file
 * limit with only its HTTP side working (no OpenVPN, no IdP), for the slow-client attack.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { writeLocalConfig } from "./service_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface TargetOptions {
  runtime: "binary" | "deno";
  /** `ulimit -n` for the service. */
  openFiles: number;
  /** Extra `[http]` lines, e.g. `max_connections = 1000`. */
  httpLines?: string[];
  /** Another checkout to run (e.g. an older version, for before/after figures). */
  root?: string;
  /**
   * A network namespace to run in (the caller's; only its loopback). Its /healthz is not waited
   * for from here, where that loopback cannot be reached: the caller waits inside.
   */
  netns?: string;
}

export interface Target {
  port: number;
  /** The exit status if the service has ended, else undefined. */
  exited(): Deno.CommandStatus | undefined;
  stderr(): string;
  stop(): Promise<Deno.CommandStatus>;
}

export async function startTarget(options: TargetOptions): Promise<Target> {
  const { dir, port, config } = await writeLocalConfig("listener-target-", () => ({
    secret: "listener-test-secret-listener-test-secret",
    httpLines: options.httpLines ?? [],
    rest: `[sessions]
backend = "memory"
[log]
level = "warning"
`,
  }));
  const deno = Deno.execPath();
  const root = options.root ?? ROOT;
  const binary = join(root, "dist/openvpn-auth-oidc");
  const main = join(root, "src/main.ts");
  const command = options.runtime === "binary"
    ? `exec "${binary}" --config "${config}"`
    : `exec "${deno}" run --allow-all "${main}" --config "${config}"`;
  const shell = ["sh", "-c", `ulimit -n ${options.openFiles} && ${command}`];
  // `ip netns exec` and sh both exec in place: the child's pid is the service's own.
  const [program, ...args] = options.netns
    ? ["ip", "netns", "exec", options.netns, ...shell]
    : shell;
  const child = new Deno.Command(program!, {
    args,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let status: Deno.CommandStatus | undefined;
  const done = child.status.then((value) => (status = value));
  let stderr = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const target: Target = {
    port,
    exited: () => status,
    stderr: () => stderr,
    stop: async () => {
      if (status === undefined) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 10_000);
      const result = await done;
      clearTimeout(kill);
      await reading.catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
  if (options.netns !== undefined) return target;
  for (let i = 0; i < 200; i++) {
    if (status !== undefined) break;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (health) {
      await health.body?.cancel();
      return target;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await target.stop();
  throw new Error(`The service did not start:\n${stderr}`);
}
