/** Builds the bridge's TOML config for a bench scenario. */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { scratchDir } from "./scratch.ts";

export interface BenchConfigOptions {
  management: string;
  httpPort: number;
  issuer: string;
  clientSecret: string;
  backend: "memory" | "file" | "redis";
  storePath: string;
  /** For the redis backend. */
  redisUrl?: string;
  maxEntries?: number;
  authPendingTimeout?: string;
  /** Serve /metrics here (counting runs either way; this adds the listener). */
  metricsPort?: number;
}

export function benchConfigToml(options: BenchConfigOptions): string {
  return `
[openvpn]
management = "${options.management}"
command_timeout = "30s"
reconnect_max_delay = "1s"
auth_pending_timeout = "${options.authPendingTimeout ?? "3m"}"

[http]
listen = "127.0.0.1:${options.httpPort}"
base_url = "http://127.0.0.1:${options.httpPort}"
secret = "bench-secret-bench-secret-bench-secret-0123"

[oidc]
issuer = "${options.issuer}"
client_id = "openvpn"
client_secret = "${options.clientSecret}"
roles_claim = "realm_access.roles"

[authorization]
allowed_groups = ["/vpn-users"]

[sessions]
backend = "${options.backend}"
path = "${options.storePath}"
${options.redisUrl ? `url = "${options.redisUrl}"\n` : ""}max_entries = ${
    options.maxEntries ?? 400_000
  }

[control]
socket = "${join(dirname(options.storePath), "control.sock")}"

${options.metricsPort ? `[metrics]\nlisten = "127.0.0.1:${options.metricsPort}"\n` : ""}
[log]
level = "error"
`;
}

/** A bridge's folder for one bench run: its bench.toml, session file and control socket. */
export interface BenchBridgeDir {
  dir: string;
  configPath: string;
  storePath: string;
  toml: string;
}

/** Writes bench.toml for `options` into a new scratch folder, the session file beside it. */
export function writeBenchConfig(
  prefix: string,
  options: Omit<BenchConfigOptions, "storePath">,
): BenchBridgeDir {
  const dir = scratchDir(prefix);
  const storePath = join(dir, "sessions.sqlite");
  const toml = benchConfigToml({ ...options, storePath });
  const configPath = join(dir, "bench.toml");
  writeFileSync(configPath, toml);
  return { dir, configPath, storePath, toml };
}
