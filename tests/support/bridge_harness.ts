/**
 * Runs the real bridge (startDaemon) in process against the Keycloak-like test IdP and a
 * scripted OpenVPN management server, and plays the browser over plain HTTP.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeServerCertificate, type ServerCertificate } from "./certificates.ts";
import type { ResolvedConfig } from "../../src/config/types.ts";
import { startDaemon } from "../../src/daemon.ts";
import { parseConfig } from "../../src/config_loader/load.ts";
import type { RunningService } from "../../src/cli.ts";
import type { Clock } from "../../src/clock.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import type { Session } from "../../src/sessions/types.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "./client_certificate.ts";
import { FakeManagementServer } from "./fake_management_server.ts";
import { freePort } from "./free_port.ts";
import { startIdpForBridges, type TestIdp, type TestIdpOptions, type TestUser } from "./idp/mod.ts";
import { bridgeLoginOverHttp } from "./bridge_browser.ts";
import { pendingAuthUrl } from "./web_auth.ts";

export const CLIENT_SECRET = "bridge-test-secret";

export interface HarnessOptions {
  /** Extra TOML appended to the generated config. */
  extraToml?: string;
  sessions?: "memory" | "file" | "redis";
  reauthCheck?: "none" | "refresh";
  /** Default "3m". */
  authPendingTimeout?: string;
  /** IdP users instead of the default demo users. */
  users?: TestUser[];
  /** Extra lines for the `[sessions]` table (e.g. `max_per_user = 1`). */
  sessionsToml?: string;
  /**
   * Several OpenVPN servers as `[[openvpn]]` tables, each with its own scripted management
   * server and extra TOML (e.g. `[openvpn.authorization]`); by default one `[openvpn]`.
   */
  servers?: Array<{ name: string; toml?: string }>;
  /** The body of `[authorization]`; default `allowed_groups = ["/vpn-users"]`. */
  authorization?: string;
  /** How the IdP answers refreshes (default: like Keycloak). */
  idp?: Pick<TestIdpOptions, "idTokenOnRefresh" | "bareRefreshErrors">;
  /**
   * The IdP over HTTPS, its certificate signed by a CA made for the test (a company CA), which
   * the browser trusts; "trusted": the bridge too (`oidc.tls_ca_file`), "untrusted": not.
   */
  idpCa?: "trusted" | "untrusted";
  /**
   * The bridge's clock and timers (default: the system clock). The IdP keeps the real one: a
   * FakeClock should start at the real time, so that the IdP's tokens are current to the bridge.
   */
  clock?: Clock;
}

export class BridgeHarness {
  readonly idp: TestIdp;
  /** The first (or only) server's management side. */
  readonly openvpn: FakeManagementServer;
  /** Every server's management side, by server name. */
  readonly servers: ReadonlyMap<string, FakeManagementServer>;
  readonly baseUrl: string;
  readonly dir: string;
  readonly config: ResolvedConfig;
  /** The TOML the bridge was started with (tests edit it to reload). */
  readonly toml: string;
  readonly #clock: Clock | undefined;
  /** The browser's client trusting the IdP's CA (`idpCa`). */
  readonly #browserClient: Deno.HttpClient | undefined;
  #service: Required<RunningService> | undefined;

  private constructor(
    idp: TestIdp,
    servers: ReadonlyMap<string, FakeManagementServer>,
    baseUrl: string,
    dir: string,
    config: ResolvedConfig,
    toml: string,
    clock: Clock | undefined,
    idpCa: string | undefined,
  ) {
    this.#browserClient = idpCa === undefined
      ? undefined
      : Deno.createHttpClient({ caCerts: [idpCa] });
    this.toml = toml;
    this.#clock = clock;
    this.idp = idp;
    this.servers = servers;
    this.openvpn = [...servers.values()][0]!;
    this.baseUrl = baseUrl;
    this.dir = dir;
    this.config = config;
  }

  static async start(options: HarnessOptions = {}): Promise<BridgeHarness> {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), "bridge-test-"));
    let certificate: ServerCertificate | undefined;
    let idp: TestIdp;
    try {
      if (options.idpCa) certificate = await makeServerCertificate(dir, "127.0.0.1", "idp");
      idp = await startIdpForBridges([baseUrl], CLIENT_SECRET, {
        ...options.idp,
        ...(options.users ? { users: options.users } : {}),
        ...(certificate ? { tls: { cert: certificate.cert, key: certificate.key } } : {}),
      });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const servers = new Map<string, FakeManagementServer>();
    let harness: BridgeHarness | undefined;
    try {
      const serverToml: string[] = [];
      for (const server of options.servers ?? [{ name: "default" }]) {
        const openvpn = await FakeManagementServer.start({ transport: "tcp" });
        servers.set(server.name, openvpn);
        const management = openvpn.address.kind === "tcp"
          ? `tcp://127.0.0.1:${openvpn.address.port}`
          : "";
        serverToml.push(`
${options.servers ? `[[openvpn]]\nname = "${server.name}"` : "[openvpn]"}
management = "${management}"
command_timeout = "3s"
auth_pending_timeout = "${options.authPendingTimeout ?? "3m"}"
reconnect_max_delay = "1s"
${server.toml ?? ""}
`);
      }
      const toml = `${serverToml.join("")}
[http]
listen = "127.0.0.1:${port}"
base_url = "${baseUrl}"
secret = "test-secret-test-secret-test-secret-0123"

[oidc]
issuer = "${idp.issuer}"
client_id = "openvpn"
client_secret = "${CLIENT_SECRET}"
roles_claim = "realm_access.roles"
${options.idpCa === "trusted" ? `tls_ca_file = "${certificate!.caFile}"` : ""}

[authorization]
${options.authorization ?? 'allowed_groups = ["/vpn-users"]'}

[sessions]
backend = "${options.sessions ?? "memory"}"
path = "${join(dir, "sessions.sqlite")}"
reauth_check = "${options.reauthCheck ?? "none"}"
${options.sessionsToml ?? ""}

[control]
socket = "${join(dir, "control.sock")}"

[log]
level = "error"

[[client_config]]
groups = ["/staff/vpn-admins"]
lines = ['push "route 10.10.0.0 255.255.0.0"']
${options.extraToml ?? ""}
`;
      harness = new BridgeHarness(
        idp,
        servers,
        baseUrl,
        dir,
        parseHarnessToml(toml),
        toml,
        options.clock,
        certificate?.ca,
      );
      await harness.startBridge();
      return harness;
    } catch (error) {
      // The caller gets no harness to stop: what was started before the failing step is
      // stopped here. A failure while cleaning up must not hide the one that got us here.
      await harness?.stopBridge().catch(() => {});
      for (const server of servers.values()) await server.stop().catch(() => {});
      await idp.stop().catch(() => {});
      harness?.closeBrowser();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Starts the bridge (again), with `config` (a restart with an edited file) or the harness's,
   * and waits until it is connected to the management interface.
   */
  async startBridge(config = this.config): Promise<void> {
    const marks = [...this.servers].map(([name, server]) =>
      [name, server.received.length] as const
    );
    this.#service = await startDaemon(config, this.#clock ? { clock: this.#clock } : {});
    // The bridge reads the client list once each management link is up.
    for (const [name, mark] of marks) {
      await this.waitForCommand(mark, (line) => line === "status 3", 5000, name);
    }
  }

  /** Validates `toml` like check-config and puts it in force in the running bridge. */
  reload(toml: string): Promise<{ kept: string[] }> {
    return this.#service!.reload(parseHarnessToml(toml));
  }

  async stopBridge(): Promise<void> {
    await this.#service?.stop();
    this.#service = undefined;
  }

  async stop(): Promise<void> {
    await this.stopBridge();
    for (const server of this.servers.values()) await server.stop();
    await this.idp.stop();
    this.closeBrowser();
    rmSync(this.dir, { recursive: true, force: true });
  }

  closeBrowser(): void {
    this.#browserClient?.close();
  }

  /** One server's management side (the first server's when no name is given). */
  server(name?: string): FakeManagementServer {
    const server = name === undefined ? this.openvpn : this.servers.get(name);
    if (!server) throw new Error(`No OpenVPN server named ${name}`);
    return server;
  }

  /** Sends a CONNECT like a 2.6 client's and returns the login URL the bridge announced. */
  async connect(cid: number, env: ClientEnvOverrides, server?: string): Promise<string> {
    const openvpn = this.server(server);
    const mark = openvpn.received.length;
    openvpn.sendClientBlock("CONNECT", cid, 1, clientEnv(env));
    const line = await this.waitForCommand(
      mark,
      (l) => l.startsWith(`client-pending-auth ${cid} 1 `),
      5000,
      server,
    );
    return pendingAuthUrl(line);
  }

  /**
   * A 2.6 client's CONNECT on `cid` (ENV `env`) and `user`'s sign-in in the browser with the
   * demo password, up to the bridge's `client-auth`.
   */
  async signIn(cid: number, env: ClientEnvOverrides, user = "alice"): Promise<void> {
    const url = await this.connect(cid, env);
    const mark = this.openvpn.received.length;
    const page = await this.browserLogin(url, user, `${user}-password`);
    if (page.status !== 200) throw new Error(`Sign-in of ${user} ended with ${page.status}`);
    await this.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
  }

  /** A session as the store holds it, read through a store of its own (the real clock's time). */
  async readSession(sessionId: string): Promise<Session | undefined> {
    const store = await openSessionStore(this.config.sessions, this.config.http.secret);
    try {
      return await store.getSession(sessionId);
    } finally {
      await store.close();
    }
  }

  /** Waits for a command received after position `mark` of the management transcript. */
  waitForCommand(
    mark: number,
    test: (line: string) => boolean,
    timeoutMs = 5000,
    server?: string,
  ): Promise<string> {
    const openvpn = this.server(server);
    return openvpn.waitForLine((line) => {
      const index = openvpn.received.lastIndexOf(line);
      return index >= mark && test(line);
    }, timeoutMs);
  }

  /** The commands received after `mark`, as text. */
  commandsSince(mark: number, server?: string): string[] {
    return this.server(server).received.slice(mark);
  }

  /**
   * Plays the browser: opens the login URL, continues on the confirmation page, signs in at
   * the IdP, follows the callback. Returns the bridge's final page.
   */
  browserLogin(
    loginUrl: string,
    username: string,
    password: string,
    options: { cancel?: boolean; beforeCallback?: () => Promise<void> } = {},
  ) {
    const client = this.#browserClient;
    return bridgeLoginOverHttp(loginUrl, this.baseUrl, username, password, {
      ...options,
      ...(client ? { idpFetch: (input, init) => fetch(input, { ...init, client }) } : {}),
    });
  }
}

/**
 * Reads the files the config names (`oidc.tls_ca_file`) from disk.
 *
 * @throws {ConfigError} for a config that check-config would refuse
 */
export function parseHarnessToml(toml: string): ResolvedConfig {
  return parseConfig(toml, "harness.toml", {
    env: {},
    readTextFile: (path) => readFileSync(path, "utf8"),
  }).config;
}

/**
 * The config of a service started in process without the harness: OpenVPN's management
 * interface on `management` (a TCP port), the pages on `listen`, the IdP at `issuer` (by
 * default one nobody answers at), a memory store unless `sections` say otherwise; `sections`
 * (TOML tables) are appended.
 */
export function serviceConfig(
  { management, listen, issuer = "http://127.0.0.1:9", sections = "" }: {
    management: number;
    listen: number;
    issuer?: string;
    sections?: string;
  },
): ResolvedConfig {
  const memory = /^\[sessions\]/m.test(sections) ? "" : '[sessions]\nbackend = "memory"\n';
  return parseHarnessToml(`
[openvpn]
management = "tcp://127.0.0.1:${management}"

[http]
listen = "127.0.0.1:${listen}"
base_url = "http://127.0.0.1:${listen}"
secret = "test-secret-test-secret-test-secret-0123"

[oidc]
issuer = "${issuer}"
client_id = "openvpn"
client_secret = "bridge-test-secret"

${memory}${sections}`);
}

/** Values to set in a client's ENV; `undefined` leaves that name out. */
export type ClientEnvOverrides = Record<string, string | undefined>;

/**
 * Leaves out what only a client with a certificate has: with `verify-client-cert none` OpenVPN
 * sets no `tls_serial_0`, and no `common_name` before `username-as-common-name` copies the user
 * name in (its REAUTHs then carry that name).
 */
export const WITHOUT_CERTIFICATE: ClientEnvOverrides = {
  common_name: undefined,
  tls_serial_0: undefined,
};

/** The ENV a 2.6 client with a certificate (`tls_serial_0`) sends, with overrides. */
export function clientEnv(overrides: ClientEnvOverrides): Record<string, string> {
  const env: ClientEnvOverrides = {
    untrusted_ip: "127.0.0.1",
    untrusted_port: "50000",
    common_name: "alice",
    tls_serial_0: CLIENT_CERTIFICATE_SERIAL,
    username: "",
    password: "",
    session_id: "sess-alice-1",
    session_state: "Initial",
    IV_VER: "2.6.14",
    IV_PLAT: "linux",
    IV_SSO: "webauth",
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
