/** Builds the bridge's TOML config for a bench scenario. */
import { dirname, join } from "node:path";

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
