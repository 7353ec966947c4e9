/**
 * The Metrics port over the Prometheus registry: every counter child is created when a server
 * is added, so a count is a property read and an increment. Session, pending-login, link and
 * tunnel gauges are read from their sources at scrape time instead of being tracked; a source
 * that fails is left out of that scrape and counted (collector_errors.ts).
 */
import {
  type CounterChild,
  CounterFamily,
  GaugeFamily,
  type HistogramChild,
  HistogramFamily,
  Registry,
} from "./exposition.ts";
import {
  CLIENT_ANSWERS,
  CLIENT_EVENTS,
  type ClientAnswer,
  type ClientEventKind,
  DENIAL_REASONS,
  type DenialReason,
  IDP_ENDPOINTS,
  type IdpEndpoint,
  LOGIN_RESULTS,
  type LoginResult,
  MANAGEMENT_COMMANDS,
  type ManagementCommandName,
  type Metrics,
  type ServerMetrics,
} from "./port.ts";
import { registerProcessMetrics } from "./process.ts";
import { CollectorErrors } from "./collector_errors.ts";

const PREFIX = "openvpn_auth_oidc_";
/** Seconds; IdP round trips take tens of milliseconds to seconds. */
const IDP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * Seconds. A real OpenVPN 2.6 answered client-auth-nt and client-pending-auth in 1 to 2.5 ms,
 * client-deny and client-kill in 2.5 to 5 ms, some commands in 5 to 50 ms; the top buckets
 * catch a stalled server. Only a test's fake OpenVPN answered under a millisecond, so no bucket
 * is below one.
 */
const COMMAND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5];

/** What the gauges of one OpenVPN server are read from at scrape time. */
export interface ServerSources {
  counts(): Promise<{ sessions: number; pending: number }>;
  linkUp(): boolean;
  /**
   * Clients whose tunnel is up on the server (ServerLink.tunnels); undefined when this bridge
   * does not know: the link is down, not read yet, or (in a cluster) held by another instance.
   */
  tunnels(): number | undefined;
}

type Children<K extends string, C> = Record<K, C>;

function byKey<K extends string, C>(keys: readonly K[], make: (key: K) => C): Children<K, C> {
  const children = {} as Children<K, C>;
  for (const key of keys) children[key] = make(key);
  return children;
}

export class PrometheusMetrics implements Metrics {
  readonly #collectorErrors = new CounterFamily(
    `${PREFIX}metrics_collector_errors_total`,
    "Scrapes that left out a collector's samples because it failed, by collector.",
    ["collector"],
  );
  readonly registry = new Registry(
    new CollectorErrors(this.#collectorErrors, () => performance.now()),
  );
  readonly #servers = new Map<string, ServerMetrics>();
  readonly #logins = this.registry.register(
    new CounterFamily(`${PREFIX}logins_total`, "Browser sign-ins finished, by result.", [
      "server",
      "result",
    ]),
  );
  readonly #clientEvents = this.registry.register(
    new CounterFamily(
      `${PREFIX}client_events_total`,
      "Client events from OpenVPN, by event and the answer given.",
      ["server", "event", "answer"],
    ),
  );
  readonly #sessions = this.registry.register(
    new GaugeFamily(`${PREFIX}sessions`, "Sessions in the store.", ["server"]),
  );
  readonly #pending = this.registry.register(
    new GaugeFamily(`${PREFIX}pending_logins`, "Sign-ins waiting for the browser.", ["server"]),
  );
  readonly #up = this.registry.register(
    new GaugeFamily(
      `${PREFIX}management_up`,
      "1 when the management interface link is up, else 0.",
      ["server"],
    ),
  );
  readonly #tunnels = this.registry.register(
    new GaugeFamily(
      `${PREFIX}tunnels`,
      "Clients whose tunnel is up on the OpenVPN server (ESTABLISHED, no DISCONNECT yet), as " +
        "this instance's management link knows it; left out while it does not know.",
      ["server"],
    ),
  );
  readonly #reconnects = this.registry.register(
    new CounterFamily(
      `${PREFIX}management_reconnects_total`,
      "Times the management link came up again after the first time.",
      ["server"],
    ),
  );
  readonly #unaskedAdmissions = this.registry.register(
    new CounterFamily(
      `${PREFIX}unasked_admissions_total`,
      "Clients OpenVPN admitted without asking the bridge (its config lacks " +
        "management-client-auth, or has auth-gen-token without external-auth), each disconnected.",
      ["server"],
    ),
  );
  readonly #idp: Children<IdpEndpoint, HistogramChild>;
  readonly #commands: Children<ManagementCommandName, HistogramChild>;
  readonly #denials: Children<DenialReason, CounterChild>;

  constructor() {
    const idp = this.registry.register(
      new HistogramFamily(
        `${PREFIX}idp_request_duration_seconds`,
        "Duration of requests to the identity provider, by endpoint.",
        ["endpoint"],
        IDP_BUCKETS,
      ),
    );
    this.#idp = byKey(IDP_ENDPOINTS, (endpoint) => idp.labels(endpoint));
    const commands = this.registry.register(
      new HistogramFamily(
        `${PREFIX}management_command_duration_seconds`,
        "Time from sending a management command to OpenVPN's answer, by command.",
        ["command"],
        COMMAND_BUCKETS,
      ),
    );
    this.#commands = byKey(MANAGEMENT_COMMANDS, (command) => commands.labels(command));
    const denials = this.registry.register(
      new CounterFamily(`${PREFIX}denials_total`, "Clients denied, by reason code.", ["reason"]),
    );
    this.#denials = byKey(DENIAL_REASONS, (reason) => denials.labels(reason));
    this.registry.register(this.#collectorErrors);
    registerProcessMetrics(this.registry);
  }

  /** Adds an OpenVPN server: its counters start at 0 and its gauges read `sources`. */
  addServer(name: string, sources: ServerSources): ServerMetrics {
    if (this.#servers.has(name)) throw new TypeError(`Server added twice: ${name}`);
    const logins = byKey(LOGIN_RESULTS, (result) => this.#logins.labels(name, result));
    const events = byKey(
      CLIENT_EVENTS,
      (event) => byKey(CLIENT_ANSWERS, (answer) => this.#clientEvents.labels(name, event, answer)),
    );
    const reconnects = this.#reconnects.labels(name);
    const unasked = this.#unaskedAdmissions.labels(name);
    const sessions = this.#sessions.labels(name);
    const pending = this.#pending.labels(name);
    const up = this.#up.labels(name);
    const tunnels = this.#tunnels.labels(name);
    // Two collectors: the link's state is worth most exactly when the store cannot be read.
    this.registry.onCollect(`management:${name}`, () => {
      up.set(sources.linkUp() ? 1 : 0);
      const count = sources.tunnels();
      // Unknown is no sample rather than a 0 that reads as everyone gone.
      if (count === undefined) tunnels.clear();
      else tunnels.set(count);
    }, [up, tunnels]);
    this.registry.onCollect(`sessions:${name}`, async () => {
      const counts = await sources.counts();
      sessions.set(counts.sessions);
      pending.set(counts.pending);
    }, [sessions, pending]);
    const server: ServerMetrics = {
      login: (result: LoginResult) => logins[result].inc(),
      clientEvent: (event: ClientEventKind, answer: ClientAnswer) => events[event][answer].inc(),
      managementReconnect: () => reconnects.inc(),
      unaskedAdmission: () => unasked.inc(),
      denial: (reason: DenialReason) => this.denial(reason),
    };
    this.#servers.set(name, server);
    return server;
  }

  /**
   * `[cluster]`: `cluster_lease_held{server,instance_id}` is 1 for each server whose management
   * link this instance holds (the instance id comes from the config, never from a client; not in
   * a label named `instance`, which Prometheus gives the scraped target: exposition.ts).
   */
  addCluster(instance: string, servers: readonly string[], holds: (server: string) => boolean) {
    const family = this.registry.register(
      new GaugeFamily(
        `${PREFIX}cluster_lease_held`,
        "1 when this bridge instance holds the server's management link lease, else 0.",
        ["server", "instance_id"],
      ),
    );
    const children = servers.map((server) => [server, family.labels(server, instance)] as const);
    this.registry.onCollect("cluster", () => {
      for (const [server, child] of children) child.set(holds(server) ? 1 : 0);
    }, children.map(([, child]) => child));
  }

  /**
   * A server's counters. A name never added is a bug, not input: logins for a server the
   * configuration no longer has stop at the login link (LoginFlow.view), so a wrong name here
   * throws rather than silently counting nothing.
   */
  server(name: string): ServerMetrics {
    const server = this.#servers.get(name);
    if (!server) throw new TypeError(`Unknown OpenVPN server: ${name}`);
    return server;
  }

  denial(reason: DenialReason): void {
    this.#denials[reason].inc();
  }

  idpRequest(endpoint: IdpEndpoint, seconds: number): void {
    this.#idp[endpoint].observe(seconds);
  }

  managementCommand(command: ManagementCommandName, seconds: number): void {
    this.#commands[command].observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.render();
  }
}
