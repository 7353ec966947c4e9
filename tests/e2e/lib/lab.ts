/**
 * The end-to-end lab: a temp directory, a PKI, two namespaces, an OpenVPN server with
 * `management-client-auth`, and helpers to start clients. `dispose()` removes all of it, even
 * after a failure; `withLab()` also prints the logs when the body throws.
 */

import { fileURLToPath } from "node:url";
import { CleanupStack, useDiagnosed } from "./cleanup.ts";
import { createNetwork, type LabNetwork } from "./netns.ts";
import {
  type OpenVpnClient,
  type OpenVpnClientOptions,
  startOpenVpnClient,
} from "./openvpn_client.ts";
import {
  type OpenVpnServer,
  type OpenVpnServerOptions,
  startOpenVpnServer,
} from "./openvpn_server.ts";
import { type PingResult, pingThroughTunnel } from "./ping.ts";
import { createPki, type Pki, type PkiOptions } from "./pki.ts";

/** Server settings a lab user may choose; paths, network and PKI come from the lab. */
export type LabServerOptions = Omit<OpenVpnServerOptions, "dir" | "network" | "pki">;
/** Client settings a lab user may choose. */
export type LabClientOptions = Omit<OpenVpnClientOptions, "dir" | "network" | "pki">;

export interface LabOptions {
  readonly server?: LabServerOptions;
  /**
   * More OpenVPN servers in the same namespace, each with its own `label`, `port` and tunnel
   * network (`tunnel: "spare"`).
   */
  readonly extraServers?: readonly LabServerOptions[];
  readonly pki?: PkiOptions;
  /** Keep the lab directory after dispose (default: the KEEP_LAB=1 environment variable). */
  readonly keepDir?: boolean;
}

export interface Lab {
  /** Temp directory holding configs, keys, logs and sockets. */
  readonly dir: string;
  readonly pki: Pki;
  readonly network: LabNetwork;
  readonly server: OpenVpnServer;
  /** `server` and then the extra servers. */
  readonly servers: readonly OpenVpnServer[];
  readonly clients: readonly OpenVpnClient[];
  /** Starts a client in the client namespace; it is stopped on dispose. */
  startClient(options: LabClientOptions): Promise<OpenVpnClient>;
  /** Pings the server's tunnel address from the client namespace. */
  pingServer(count?: number): Promise<PingResult>;
  /** Logs of the server and every client (management transcripts redacted). */
  diagnostics(): Promise<string>;
  /** Stops every process, deletes the namespaces, removes the directory. Idempotent. */
  dispose(): Promise<void>;
}

const WORK_ROOT = fileURLToPath(new URL("../.work/", import.meta.url));
// sockaddr_un holds 108 bytes; leave room for the socket file names.
const MAX_DIR_LENGTH = 70;

/** Builds the lab; whatever was created before a failure is removed again. */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const cleanup = new CleanupStack("e2e lab");
  try {
    const dir = await makeLabDir();
    const keepDir = options.keepDir ?? Deno.env.get("KEEP_LAB") === "1";
    cleanup.defer(`remove ${dir}`, async () => {
      if (keepDir) console.error(`KEEP_LAB: lab directory kept at ${dir}`);
      else await Deno.remove(dir, { recursive: true });
    });
    const pki = await createPki(dir, options.pki);
    const network = await createNetwork();
    cleanup.defer("delete namespaces", () => network.destroy());
    const server = await startOpenVpnServer({ ...options.server, dir, network, pki });
    // Teardown kills outright: nobody is left to hear a goodbye, and it saves seconds per lab.
    cleanup.defer("stop openvpn server", () => server.stop({ crash: true }));
    const servers = [server];
    for (const extra of options.extraServers ?? []) {
      const more = await startOpenVpnServer({ ...extra, dir, network, pki });
      cleanup.defer(`stop openvpn ${more.label}`, () => more.stop({ crash: true }));
      servers.push(more);
    }

    const clients: OpenVpnClient[] = [];
    const labelCounts = new Map<string, number>();
    const lab: Lab = {
      dir,
      pki,
      network,
      server,
      servers,
      clients,
      async startClient(clientOptions) {
        const base = clientOptions.label ?? `client-${clientOptions.name}`;
        const count = (labelCounts.get(base) ?? 0) + 1;
        labelCounts.set(base, count);
        const client = await startOpenVpnClient({
          ...clientOptions,
          label: count === 1 ? base : `${base}-${count}`,
          dir,
          network,
          pki,
        });
        clients.push(client);
        cleanup.defer(`stop ${client.name}`, () => client.stop({ crash: true }));
        return client;
      },
      pingServer: (count = 3) => pingThroughTunnel(network.clientNs, network.serverTunnelIp, count),
      async diagnostics() {
        const parts = [`===== lab ${dir} (slot ${network.slot})`];
        for (const each of servers) {
          parts.push(`===== ${each.label} log ${each.logPath}\n${await each.diagnostics()}`);
        }
        for (const client of clients) {
          parts.push(
            `===== client ${client.name} ${client.logPath}\n${await client.diagnostics()}`,
          );
        }
        return parts.join("\n");
      },
      async dispose() {
        const errors = await cleanup.dispose();
        if (errors.length > 0) throw new AggregateError(errors, "Lab cleanup failed");
      },
    };
    return lab;
  } catch (error) {
    await cleanup.dispose();
    throw error;
  }
}

/** Runs `body` in a fresh lab; prints the lab's logs if it throws, and always disposes. */
export async function withLab<T>(
  options: LabOptions,
  body: (lab: Lab) => Promise<T>,
): Promise<T> {
  return useDiagnosed(await createLab(options), body);
}

async function makeLabDir(): Promise<string> {
  let root = WORK_ROOT;
  if (root.length > MAX_DIR_LENGTH - 20) root = "/tmp";
  else await Deno.mkdir(root, { recursive: true });
  return await Deno.makeTempDir({ dir: root, prefix: `lab-${Deno.pid}-` });
}
