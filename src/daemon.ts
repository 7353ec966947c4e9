/**
 * The composition root: builds every part from the resolved config and starts the service.
 * Nothing here is global: each OpenVPN server gets its own connection and event handler, and
 * the store is passed to whoever needs it.
 */
import { readFileSync } from "node:fs";
import { ClientEvents } from "./bridge/client_events.ts";
import { KeyedLock } from "./bridge/keyed_lock.ts";
import { Revocation } from "./bridge/revocation.ts";
import { SessionEnd } from "./bridge/session_end.ts";
import { LoginFlow } from "./bridge/login_flow.ts";
import { managementCommander } from "./bridge/management_commander.ts";
import { ServerLink } from "./bridge/server_link.ts";
import type { ClientCommander } from "./bridge/commander.ts";
import type { RunningService } from "./cli.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { ResolvedConfig } from "./config/types.ts";
import { createApp } from "./http/app.ts";
import { loadTemplates } from "./http/pages/mod.ts";
import { LOGIN_ID_BYTES } from "./bridge/login_url.ts";
import { callbackUrl } from "./http/routes.ts";
import { serveHttp } from "./http/serve.ts";
import { configureLogging, getLogger } from "./log.ts";
import { ManagementConnection } from "./management/connection.ts";
import { createOidcClient } from "./oidc/client.ts";
import { createLogoutVerifier } from "./oidc/logout_verifier.ts";
import { openSessionStore, startSweeper } from "./sessions/open_store.ts";
import type { SessionStore } from "./sessions/types.ts";

/** The name of the (so far only) OpenVPN server; pending logins and sessions record it. */
const DEFAULT_SERVER = "default";
const DISCOVERY_RETRY_MS = 5000;

export function randomToken(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buffer)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** Parts a caller may supply instead of having them built from the config (tests, benchmarks). */
export interface DaemonOverrides {
  /** A store to use instead of opening `[sessions]`; the daemon closes it when it stops. */
  store?: SessionStore;
  /** The clock and timers every part runs on (default: the system clock). */
  clock?: Clock;
}

export async function startDaemon(
  config: ResolvedConfig,
  overrides: DaemonOverrides = {},
): Promise<RunningService> {
  configureLogging(config.log.level, config.log.format);
  const log = getLogger("daemon");
  const clock = overrides.clock ?? systemClock;
  const now = clock.now;

  const store = overrides.store ?? await openSessionStore(config.sessions, config.http.secret, now);
  const stopSweeper = startSweeper(store, config.sessions.sweepIntervalMs, clock);
  const oidc = createOidcClient(config.oidc, callbackUrl(config.http.baseUrl), { clock });
  const policy = {
    oidc: config.oidc,
    authorization: config.authorization,
    clientConfig: config.clientConfig,
  };

  const connection = new ManagementConnection({
    address: config.openvpn.management,
    password: config.openvpn.password,
    commandTimeoutMs: config.openvpn.commandTimeoutMs,
    reconnectMaxDelayMs: config.openvpn.reconnectMaxDelayMs,
    name: DEFAULT_SERVER,
    clock,
  });
  const commander = managementCommander(connection);
  const commanders = new Map<string, ClientCommander>([[DEFAULT_SERVER, commander]]);
  const sessionLock = new KeyedLock();
  const sessionEnd = new SessionEnd({
    store,
    commanders: (name) => commanders.get(name),
    oidc,
    sessionLock,
    log: getLogger("sessions"),
  });
  const revocation = new Revocation({
    store,
    end: sessionEnd,
    verifyLogoutToken: createLogoutVerifier(config.oidc, { discover: oidc.discover, now }),
    log: getLogger("sessions"),
  });
  const events = new ClientEvents({
    server: DEFAULT_SERVER,
    commander,
    store,
    oidc,
    config: {
      policy,
      baseUrl: config.http.baseUrl,
      bypassCommonNames: config.openvpn.bypassCommonNames,
      authPendingTimeoutMs: config.openvpn.authPendingTimeoutMs,
      sessions: config.sessions,
    },
    clock,
    newLoginId: () => randomToken(LOGIN_ID_BYTES),
    log: getLogger("clients"),
    sessionLock,
  });
  const link = new ServerLink(connection, events, commander, getLogger("clients"), clock);

  const flow = new LoginFlow({
    store,
    oidc,
    commanders: (server) => commanders.get(server),
    policy,
    sessionLifetimeMs: config.sessions.lifetimeMs,
    checkClientIp: config.http.checkClientIp,
    ...(config.sessions.maxPerUser > 0
      ? {
        sessionLimit: {
          maxPerUser: config.sessions.maxPerUser,
          action: config.sessions.maxPerUserAction,
          end: (ids: string[]) => sessionEnd.endAll(ids, "max-per-user"),
        },
      }
      : {}),
    now,
    log: getLogger("login"),
  });
  const pages = await loadTemplates(config.http.templatesDir);
  const app = createApp({
    flow,
    pages,
    baseUrl: config.http.baseUrl,
    secret: config.http.secret,
    confirmLogin: config.http.confirmLogin,
    trustedProxies: config.http.trustedProxies,
    formActionOrigins: [config.oidc.issuer.origin],
    now,
    randomToken: () => randomToken(32),
    readiness: () => ({ management: link.linkUp, idp: oidc.ready }),
    backchannelLogout: (token) => revocation.logout(token),
    log: getLogger("http"),
  });
  const tls = config.http.tlsCertFile && config.http.tlsKeyFile
    ? {
      cert: readFileSync(config.http.tlsCertFile, "utf8"),
      key: readFileSync(config.http.tlsKeyFile, "utf8"),
    }
    : undefined;
  const server = await serveHttp(
    { ...config.http.listen, tls },
    (request, env) => app.fetch(request, env),
  );
  log.info("Serving sign-in pages on {host}:{port} for {baseUrl}", {
    host: config.http.listen.host,
    port: server.port,
    baseUrl: config.http.baseUrl.href,
  });

  // Discovery in the background: the service is up (and /readyz says why not ready) while the
  // IdP is down; logins retry discovery themselves.
  let discoveryTimer: TimerHandle | undefined;
  const discover = () => {
    oidc.discover().catch((error) => {
      log.warning("OIDC discovery at {issuer} failed, retrying: {error}", {
        issuer: config.oidc.issuer.href,
        error: String(error),
      });
      discoveryTimer = clock.setTimeout(discover, DISCOVERY_RETRY_MS);
    });
  };
  discover();
  link.start();

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info("Shutting down");
      clock.clearTimeout(discoveryTimer);
      await server.close();
      await link.stop();
      stopSweeper();
      await store.close();
      log.info("Stopped");
      resolveDone();
    })();
    return stopping;
  };
  return { done, stop };
}
