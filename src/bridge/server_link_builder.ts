/**
 * Builds one OpenVPN server's management link: the connection, its commander (metered and
 * speaking the configured language), the client event handler and the ServerLink over them.
 * Settings are read at each use, so a reload's values apply to the next decision. The daemon
 * builds one per server; in a cluster, one for each period this instance holds its lease.
 */
import type { Clock } from "../clock.ts";
import type { CurrentConfig } from "../config/live.ts";
import type { OpenvpnServerConfig, ResolvedConfig } from "../config/types.ts";
import { getLogger } from "../log.ts";
import { ManagementConnection } from "../management/connection.ts";
import type { Metrics, ServerMetrics } from "../metrics/port.ts";
import type { KnownSessions } from "../sessions/known_sessions.ts";
import type { SessionStore } from "../sessions/types.ts";
import type { Admission } from "./admission.ts";
import { ClientEvents } from "./client_events.ts";
import { localizedCommander } from "./client_messages.ts";
import type { ClientCommander } from "./commander.ts";
import { managementCommander } from "./management_commander.ts";
import { ServerLink } from "./server_link.ts";
import { signInGuard } from "./sign_in_guard.ts";
import { UnaskedAdmissions } from "./unasked_admissions.ts";

export interface ServerLinkDeps {
  current: CurrentConfig;
  store: SessionStore;
  admission: Admission;
  metrics: Metrics;
  /** The counters of one server (registered before its link is built). */
  serverMetrics: (name: string) => ServerMetrics;
  clock: Clock;
  newLoginId: () => string;
  knownSessions?: KnownSessions;
}

export interface BuiltLink {
  name: string;
  link: ServerLink;
  events: ClientEvents;
  commander: ClientCommander;
}

/** `mayWrite`, in a cluster, says whether this instance still holds the link's lease. */
export function serverLinkBuilder(
  deps: ServerLinkDeps,
): (name: string, mayWrite?: () => boolean) => BuiltLink {
  const { current, clock } = deps;
  // Settings that cannot change live are read once, from the config in force at start.
  const { http: { baseUrl }, sessions } = current.value;
  return (name, mayWrite) => {
    const settings = () => serverConfig(current.value, name);
    const connection = new ManagementConnection({
      address: settings().management,
      password: settings().password,
      commandTimeoutMs: settings().commandTimeoutMs,
      reconnectMaxDelayMs: settings().reconnectMaxDelayMs,
      name,
      clock,
      ...(mayWrite ? { mayWrite } : {}),
    });
    const linkCommander = localizedCommander(
      managementCommander(connection, deps.metrics, () => settings().webAuthFlags),
      () => current.value.http.defaultLanguage,
    );
    const serverMetrics = deps.serverMetrics(name);
    countLinkEvents(connection, serverMetrics);
    const clientLog = getLogger("clients").with({ server: name });
    // Each ESTABLISHED is checked against what admitted its client (unasked_admissions.ts). The
    // callbacks run at events, once everything below is built.
    const unasked: UnaskedAdmissions = new UnaskedAdmissions({
      server: name,
      store: deps.store,
      bypassCommonNames: () => settings().bypassCommonNames,
      run: () => events.openvpnRun,
      kill: (cid, run, message) => commander.kill(cid, message, run),
      killLater: (cid, run, message) => events.killWhenLinked(cid, message, run),
      log: clientLog,
      clock,
      metrics: serverMetrics,
    });
    // Every answer on this link goes through it: the events', the sign-ins', a cluster's.
    const answering = unasked.recording(linkCommander);
    const events: ClientEvents = new ClientEvents({
      server: name,
      commander: answering,
      store: deps.store,
      admission: deps.admission,
      config: {
        baseUrl,
        get bypassCommonNames() {
          return settings().bypassCommonNames;
        },
        get authPendingTimeoutMs() {
          return settings().authPendingTimeoutMs;
        },
        get maxPendingPerAddress() {
          return settings().maxPendingPerAddress;
        },
        sessions,
      },
      clock,
      newLoginId: deps.newLoginId,
      log: clientLog,
      metrics: serverMetrics,
      ...(deps.knownSessions ? { knownSessions: deps.knownSessions } : {}),
      // In a cluster another instance's callback may take this server's sign-ins.
      soleTaker: current.value.cluster === undefined,
    });
    const link = new ServerLink(connection, events, clientLog, clock, unasked);
    // What answers browser sign-ins, here and for other instances (work items): checked
    // against this link's view of OpenVPN's clients.
    const commander = signInGuard(
      answering,
      (cid, signIn) => events.isCurrentSignIn(cid, signIn),
      () => events.openvpnRun,
      (cid, signIn) => events.signInAnswered(cid, signIn),
    );
    return { name, link, events, commander };
  };
}

/** The settings in force for one server (servers cannot be added or removed by a reload). */
export function serverConfig(config: ResolvedConfig, name: string): OpenvpnServerConfig {
  return config.servers.find((server) => server.name === name)!;
}

/** Events the handlers do not answer, and link restarts, counted from the connection. */
function countLinkEvents(connection: ManagementConnection, metrics: ServerMetrics): void {
  let linkCameUp = false;
  connection.onEvent((event) => {
    if (event.type === "client-established") metrics.clientEvent("established", "none");
    else if (event.type === "client-disconnect") metrics.clientEvent("disconnect", "none");
    else if (event.type === "connected") {
      if (linkCameUp) metrics.managementReconnect();
      linkCameUp = true;
    }
  });
}
