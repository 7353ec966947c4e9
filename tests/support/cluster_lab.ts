/**
 * Several bridge processes sharing one redis-server and one scripted management interface
 * (which, like OpenVPN, serves one client at a time and keeps a second one waiting), for the
 * cluster tests: leases, takeovers, a paused holder, a holder cut off from Redis. Each instance
 * may reach Redis through its own cuttable proxy. Everything is started on free loopback ports
 * and stopped by pid.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BridgeProcess, type BridgeRuntime, type Readiness } from "../e2e/lib/bridge_process.ts";
import { pollUntil } from "../e2e/lib/wait.ts";
import { FakeManagementServer } from "./fake_management_server.ts";
import { freePort } from "./free_port.ts";
import { startIdpForBridges, type TestIdp } from "./idp/mod.ts";
import { RedisProxy } from "./redis_proxy.ts";
import { RedisServer } from "./redis_server.ts";
import { redisSettings } from "./redis_settings.ts";
import { bridgeLoginOverHttp } from "./bridge_browser.ts";
import { clientEnv } from "./bridge_harness.ts";
import { connectRedis } from "../../src/sessions/redis_connection.ts";
import { pendingAuthUrl } from "./web_auth.ts";

export const LEASE_MS = 3_000;
const CLIENT_SECRET = "cluster-test-secret";

export interface Instance {
  id: string;
  /** Its admin control socket. */
  controlSocket: string;
  bridge: BridgeProcess;
  baseUrl: string;
  proxy: RedisProxy | undefined;
}

/** Durations an instance's config sets in sections the lab writes itself (TOML strings). */
export interface InstanceTimeouts {
  /** `openvpn.auth_pending_timeout` (60 s unless told). */
  authPending?: string;
  /** `oidc.http_timeout` (its default, 10 s, unless told). */
  idpHttp?: string;
}

export class ClusterLab {
  readonly redis: RedisServer;
  readonly idp: TestIdp;
  readonly openvpn: FakeManagementServer;
  readonly dir: string;
  readonly instances: Instance[] = [];
  readonly #ports: number[];
  readonly #runtime: BridgeRuntime;

  private constructor(
    redis: RedisServer,
    idp: TestIdp,
    openvpn: FakeManagementServer,
    dir: string,
    ports: number[],
    runtime: BridgeRuntime,
  ) {
    this.#runtime = runtime;
    this.redis = redis;
    this.idp = idp;
    this.openvpn = openvpn;
    this.dir = dir;
    this.#ports = ports;
  }

  /**
   * Redis, the test IdP (knowing `instances` callback URLs) and the management side; bridges
   * run from source unless `runtime` is "binary" (dist/openvpn-auth-oidc).
   */
  static async start(instances: number, runtime: BridgeRuntime = "source"): Promise<ClusterLab> {
    const ports: number[] = [];
    for (let i = 0; i < instances; i++) ports.push(await freePort());
    const redis = await RedisServer.start();
    let idp: TestIdp | undefined;
    let openvpn: FakeManagementServer | undefined;
    try {
      idp = await startIdpForBridges(
        ports.map((port) => `http://127.0.0.1:${port}`),
        CLIENT_SECRET,
      );
      openvpn = await FakeManagementServer.start({ transport: "tcp", secondClient: "queue" });
      const dir = mkdtempSync(join(tmpdir(), "cluster-test-"));
      return new ClusterLab(redis, idp, openvpn, dir, ports, runtime);
    } catch (error) {
      // The caller gets no lab to dispose of: what was started before the failing step is
      // stopped here. A failure while cleaning up must not hide the one that got us here.
      await openvpn?.stop().catch(() => {});
      await idp?.stop().catch(() => {});
      await redis.dispose().catch(() => {});
      throw error;
    }
  }

  /**
   * The usual start of a test: A (behind a Redis proxy when asked) holding the link with its
   * management connection up, then B as a standby, both with `timeouts` when given. Everything
   * is stopped after `body`.
   */
  static async withHolderAndStandby(
    options: { proxied?: boolean; runtime?: BridgeRuntime; timeouts?: InstanceTimeouts },
    body: (lab: ClusterLab, a: Instance, b: Instance) => Promise<void>,
  ): Promise<void> {
    const lab = await ClusterLab.start(2, options.runtime);
    try {
      const timeouts = options.timeouts ?? {};
      const a = await lab.startInstance(0, { proxied: options.proxied ?? false, timeouts });
      await lab.waitHolding(a);
      const b = await lab.startInstance(1, { timeouts });
      await body(lab, a, b);
    } finally {
      await lab.dispose();
    }
  }

  /**
   * Starts instance number `index` (0, 1, ...), optionally behind its own Redis proxy, or with
   * `managementPort` in place of OpenVPN's (a host cut off from it).
   */
  async startInstance(
    index: number,
    options: {
      proxied?: boolean;
      extraToml?: string;
      sessionsToml?: string;
      managementPort?: number;
      timeouts?: InstanceTimeouts;
    } = {},
  ): Promise<Instance> {
    const id = `bridge-${"abcdefgh"[index]}`;
    const port = this.#ports[index]!;
    const address = this.openvpn.address;
    if (address.kind !== "tcp") throw new Error("tcp management expected");
    const proxy = options.proxied ? await RedisProxy.start(this.redis.port) : undefined;
    const redisPort = proxy?.port ?? this.redis.port;
    const baseUrl = `http://127.0.0.1:${port}`;
    const toml = `[openvpn]
management = "tcp://127.0.0.1:${options.managementPort ?? address.port}"
command_timeout = "2s"
reconnect_max_delay = "500ms"
auth_pending_timeout = "${options.timeouts?.authPending ?? "60s"}"
bypass_common_names = ["bypass-.*"]

[http]
listen = "127.0.0.1:${port}"
base_url = "${baseUrl}"
secret = "cluster-secret-cluster-secret-0123456789"

[oidc]
issuer = "${this.idp.issuer}"
client_id = "openvpn"
client_secret = "${CLIENT_SECRET}"
http_timeout = "${options.timeouts?.idpHttp ?? "10s"}"

[authorization]
allowed_groups = ["/vpn-users"]

[sessions]
backend = "redis"
url = "redis://127.0.0.1:${redisPort}/0"
store_timeout = "500ms"
${options.sessionsToml ?? ""}

[cluster]
enabled = true
lease = "${LEASE_MS / 1000}s"
instance_id = "${id}"

[control]
socket = "${join(this.dir, `${id}.sock`)}"

[log]
level = "info"
${options.extraToml ?? ""}
`;
    const configPath = join(this.dir, `${id}.toml`);
    let bridge: BridgeProcess;
    try {
      writeFileSync(configPath, toml);
      // Kills its process itself when the bridge does not become ready.
      bridge = await BridgeProcess.start({
        runtime: this.#runtime,
        configPath,
        listenUrl: baseUrl,
      });
    } catch (error) {
      // Not an instance yet, so dispose() would not close its proxy.
      await proxy?.close().catch(() => {});
      throw error;
    }
    const instance = { id, controlSocket: join(this.dir, `${id}.sock`), bridge, baseUrl, proxy };
    this.instances[index] = instance;
    return instance;
  }

  /**
   * Alice's VPN client connects (as `cid`, 20 unless told) through the holder `a`, which answers
   * with her sign-in link; her browser finishes the sign-in on `b`. Returns the page `b` showed
   * and the transcript entry of the `client-auth` OpenVPN received.
   */
  async aliceSignsInOn(a: Instance, b: Instance, cid = 20) {
    const openvpn = this.openvpn;
    openvpn.sendClientBlock(
      "CONNECT",
      cid,
      1,
      clientEnv({ common_name: "alice", session_id: `sess-c${cid}`, session_state: "Initial" }),
    );
    const pending = await openvpn.waitForLine((l) => l.startsWith(`client-pending-auth ${cid} 1 `));
    const url = new URL(pendingAuthUrl(pending));
    if (url.origin !== a.baseUrl) throw new Error(`Sign-in link not from ${a.id}: ${url}`);
    const onB = new URL(url.pathname, b.baseUrl).href;
    const page = await bridgeLoginOverHttp(onB, b.baseUrl, "alice", "alice-password");
    const auth = openvpn.transcript.find((entry) => entry.line.startsWith(`client-auth ${cid} 1`));
    return { page, auth };
  }

  /** The servers whose lease `instance` says it holds (/readyz). */
  async leases(instance: Instance): Promise<string[]> {
    const state = await instance.bridge.readiness() as Readiness & {
      cluster?: { leases: string[] };
    };
    return state.cluster?.leases ?? [];
  }

  /** Waits until `instance` holds the lease and its management link is up. */
  async waitHolding(instance: Instance, timeoutMs = 15_000): Promise<void> {
    await pollUntil(
      `${instance.id} to hold the lease with its link up`,
      async () => {
        const state = await instance.bridge.readiness().catch(() => undefined) as
          | (Readiness & { cluster?: { leases: string[] } })
          | undefined;
        return state?.cluster?.leases.includes("default") && state.servers["default"]
          ? true
          : undefined;
      },
      timeoutMs,
      20,
    );
  }

  /** Who Redis says holds the lease now ("<instance>#<token>"), or null. */
  async leaseHolder(): Promise<string | null> {
    const client = await connectRedis(
      redisSettings(this.redis.url, "openvpn-auth-oidc:", { storeTimeoutMs: 1000 }),
    );
    try {
      return await client.get("openvpn-auth-oidc:c:lease:default");
    } finally {
      client.disconnect();
    }
  }

  async dispose(): Promise<void> {
    for (const instance of this.instances) {
      if (!instance) continue;
      // A paused instance is resumed, so that it can stop; one that has exited has no pid
      // (and -1 would signal every process).
      const pid = instance.bridge.bridgePid;
      if (pid !== undefined) {
        try {
          Deno.kill(pid, "SIGCONT");
        } catch {
          // Exited meanwhile.
        }
      }
      await instance.bridge.kill();
      await instance.proxy?.close();
    }
    await this.openvpn.stop();
    await this.idp.stop();
    await this.redis.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
