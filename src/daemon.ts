/**
 * The composition root: builds every part from the resolved config and starts the service.
 * Nothing here is global: each OpenVPN server gets its own connection and event handler, and
 * the store is passed to whoever needs it.
 */
import { Admission } from "./bridge/admission.ts";
import { refreshCheckBlindSpot } from "./bridge/refresh_blind_spot.ts";
import { KeyedLock } from "./bridge/keyed_lock.ts";
import { Revocation, RevokeDeferredError } from "./bridge/revocation.ts";
import { SessionEnd } from "./bridge/session_end.ts";
import type { LimitEndReason } from "./bridge/session_limit.ts";
import { UnstoredRefreshTokens } from "./bridge/unstored_refresh_tokens.ts";
import { listBound, RecheckScheduler } from "./bridge/recheck_scheduler.ts";
import { LoginFlow } from "./bridge/login_flow.ts";
import type { ClientCommander } from "./bridge/commander.ts";
import { type BuiltLink, serverConfig, serverLinkBuilder } from "./bridge/server_link_builder.ts";
import type { RunningService } from "./cli.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CurrentConfig, mergeReload } from "./config/live.ts";
import type { ResolvedConfig } from "./config/types.ts";
import { claimPathsAdded, policyClaimPaths, type PolicyConfig } from "./bridge/identity_policy.ts";
import { meteredFetch } from "./metrics/idp_fetch.ts";
import { PrometheusMetrics } from "./metrics/prometheus.ts";
import { createApp } from "./http/app.ts";
import { liveTrustedProxies } from "./http/client_ip.ts";
import { loadTemplates } from "./http/pages/mod.ts";
import { formActionOrigin } from "./http/security_headers.ts";
import { newLoginId } from "./bridge/login_url.ts";
import { callbackUrl } from "./http/routes.ts";
import { connectionLimits, startListeners } from "./http/listeners.ts";
import { configureLogging, getLogger, type Logger, quotedList, words } from "./log.ts";
import { VERSION } from "./version.ts";
import { randomToken } from "./random_token.ts";
import { clusterReadiness, startCluster } from "./cluster/cluster.ts";
import { startServerNameClaims } from "./cluster/server_name_claims.ts";
import { createOidcClient } from "./oidc/client.ts";
import { keepDiscovering } from "./oidc/discovery_keeper.ts";
import { idpTransport } from "./oidc/idp_transport.ts";
import { createLogoutVerifier } from "./oidc/logout_verifier.ts";
import type { ServerMetrics } from "./metrics/port.ts";
import { ControlRequestError } from "./control/protocol.ts";
import { type ControlServer, startControlServer } from "./control/server.ts";
import { KnownSessions } from "./sessions/known_sessions.ts";
import { openSessionStore, sessionStoreWhere, startSweeper } from "./sessions/open_store.ts";
import type { Session, SessionStore } from "./sessions/types.ts";
import { hostAndPort } from "./ip_address.ts";

function authorizationOrigin(endpoint: string | undefined): string | undefined {
  try {
    return endpoint === undefined ? undefined : formActionOrigin(endpoint);
  } catch {
    getLogger("daemon").warning("Authorization endpoint is not an http(s) URL: {endpoint}", {
      endpoint,
    });
    return undefined;
  }
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
): Promise<Required<RunningService>> {
  configureLogging(config.log.level, config.log.format);
  const log = getLogger("daemon");
  const clock = overrides.clock ?? systemClock;
  const now = clock.now;

  const current = new CurrentConfig(config);
  // Counting is always on (a field increment per event), so a metrics listener that a reload
  // turns on shows totals since start.
  const metrics = new PrometheusMetrics();
  const opened = overrides.store ??
    await openSessionStore(config.sessions, config.http.secret, now, { owner: true });
  /**
   * A start that fails part-way closes what it started, in reverse: the store kept its file
   * lock (a second start in this process was refused) and a cluster its leases and links.
   */
  const started: Array<() => unknown> = [() => opened.close()];
  const abandon = async (error: unknown): Promise<never> => {
    for (const close of started.reverse()) await Promise.resolve().then(close).catch(() => {});
    throw error;
  };
  await Promise.resolve(opened.warmUp?.(config.servers.map(({ name }) => name))).catch(abandon);
  // Outside a cluster, this bridge's server names are its own among the bridges sharing the
  // Redis store: the store finds clients by server name and cid, so two bridges with a server
  // of the same name would end, unbind and kill each other's clients. Claimed before anything
  // acts on a server's sessions (links, adopted sign-ins, re-checks, pages); a name a live
  // bridge holds refuses the start. The instances of a cluster share their names by design.
  const nameClaims = config.sessions.redis && !config.cluster
    ? await startServerNameClaims({
      redis: config.sessions.redis,
      servers: config.servers.map(({ name }) => name),
      clock,
      log: getLogger("sessions"),
    }).catch(abandon)
    : undefined;
  if (nameClaims) started.push(() => nameClaims.stop());
  const known = config.sessions.storeUnreachable === "allow"
    ? new KnownSessions(config.sessions.maxEntries)
    : undefined;
  const store = known?.watch(opened) ?? opened;
  // Every request to the IdP goes through it, the back-channel logout's keys too (oidc.get).
  const idp = idpTransport(config.oidc.tlsCaFile);
  started.push(() => idp.close());
  const oidc = createOidcClient(config.oidc, callbackUrl(config.http.baseUrl), {
    clock,
    fetch: meteredFetch(idp.fetch, metrics),
  });
  started.push(() => oidc.close());
  const sessionLock = new KeyedLock();
  // One for Admission, which keeps them, and SessionEnd, which revokes them with their session.
  const unstoredRefreshTokens = new UnstoredRefreshTokens(getLogger("clients"));
  const commanders = new Map<string, ClientCommander>();
  const sessionEnd = new SessionEnd({
    store,
    commanders: (name) => commanders.get(name),
    oidc,
    sessionLock,
    unstoredRefreshTokens,
    log: getLogger("sessions"),
    now,
    revokeRefreshTokens: config.oidc.revokeRefreshTokens,
    // One instance holds every link: a kill the link could not take waits for it. In a
    // cluster the holder may be another instance, whose link this one cannot watch.
    // The same for the kill's DISCONNECT, whose link is told whom it kills.
    ...(config.cluster ? {} : {
      killLater: (server: string, cid: number, run: string | undefined, message: string) =>
        links.find((built) => built.name === server)?.events.killWhenLinked(cid, message, run),
      killing: (client: Session) =>
        links.find((built) => built.name === client.server)?.events.sessionKilled(client),
    }),
  });
  // Expired sessions go at each sweep, and their refresh tokens are revoked as any ended one's.
  const stopSweeper = startSweeper(
    store,
    config.sessions.sweepIntervalMs,
    clock,
    (swept) => sessionEnd.endExpired(swept),
  );
  started.push(stopSweeper);
  // Each server's policy, read at each decision, so a reload applies to the next one.
  const policies = new Map(config.servers.map(({ name }) => [name, serverPolicy(current, name)]));
  const admission = new Admission({
    store,
    oidc,
    sessionEnd,
    sessionLock,
    unstoredRefreshTokens,
    metrics,
    config: {
      policy: (server) => policies.get(server),
      // Asked only for a server the policy knows (admission refuses others first).
      usernamePolicy: (server) => serverConfig(current.value, server).usernamePolicy,
      sessionLifetimeMs: config.sessions.lifetimeMs,
      idpUnreachable: config.sessions.idpUnreachable,
      recheckIntervalMs: config.sessions.recheckIntervalMs,
      reauthCheck: config.sessions.reauthCheck,
    },
    ...(config.sessions.maxPerUser > 0
      ? {
        sessionLimit: {
          maxPerUser: config.sessions.maxPerUser,
          action: config.sessions.maxPerUserAction,
          end: (ids: string[], reason: LimitEndReason) => sessionEnd.endAll(ids, reason),
        },
      }
      : {}),
    now,
    log: getLogger("clients"),
  });
  const revocation = new Revocation({
    store,
    end: sessionEnd,
    verifyLogoutToken: createLogoutVerifier(config.oidc, {
      discover: oidc.discover,
      get: oidc.get,
      now,
    }),
    log: getLogger("sessions"),
    ...(known ? { knownSessions: known } : {}),
    clock,
    keepForMs: config.sessions.lifetimeMs,
    clockToleranceSec: config.oidc.clockToleranceSec,
  });

  // One management link per OpenVPN server, each with its own reconnect, event handler and
  // policy. Settings are read at each use, so a reload's policy applies to the next decision.
  // In a cluster a link is built for each period this instance holds the server's lease.
  const links: BuiltLink[] = [];
  // Registered before the cluster starts: a leased link's build reads its server's metrics.
  const linkMetrics = new Map<string, ServerMetrics>();
  for (const { name } of config.servers) {
    linkMetrics.set(
      name,
      metrics.addServer(name, {
        counts: () => store.countLive(name),
        linkUp: () =>
          cluster ? cluster.linkUp(name) : links.find((l) => l.name === name)!.link.linkUp,
        tunnels: () =>
          cluster ? cluster.tunnels(name) : links.find((l) => l.name === name)!.link.tunnels,
      }),
    );
  }
  const buildLink = serverLinkBuilder({
    current,
    store,
    admission,
    metrics,
    serverMetrics: (name) => linkMetrics.get(name)!,
    clock,
    newLoginId: () => newLoginId(clock.now()),
    ...(known ? { knownSessions: known } : {}),
  });
  const cluster = config.cluster && config.sessions.redis
    ? await startCluster({
      config: config.cluster,
      redis: config.sessions.redis,
      servers: config.servers.map(({ name }) => name),
      clock,
      log: getLogger("cluster"),
      build: buildLink,
    }).catch(abandon)
    : undefined;
  if (cluster) started.push(() => cluster.stop());
  if (cluster) {
    const names = config.servers.map(({ name }) => name);
    metrics.addCluster(cluster.instanceId, names, cluster.holds);
  }
  for (const { name } of config.servers) {
    if (cluster) commanders.set(name, cluster.commander(name));
    else {
      const built = buildLink(name);
      links.push(built);
      commanders.set(name, built.commander);
    }
  }

  const flow = new LoginFlow({
    store,
    oidc,
    commanders: (server) => commanders.get(server),
    admission,
    checkClientIp: config.http.checkClientIp,
    isTrustedProxy: liveTrustedProxies(() => current.value.http.trustedProxies),
    now,
    log: getLogger("login"),
  });
  // The confirm form leads to the discovered authorization endpoint (often, not always, on the
  // issuer's origin); known once discovery has run.
  let formActionOrigins: readonly string[] = [
    config.oidc.issuer.origin,
    ...config.http.formActionOrigins,
  ];
  // The app is rebuilt on reload (pages, their CSP hashes, confirm step, proxies) and swapped.
  const buildApp = async (live: ResolvedConfig) =>
    createApp({
      flow,
      pages: await loadTemplates(live.http.templatesDir),
      defaultLanguage: live.http.defaultLanguage,
      baseUrl: config.http.baseUrl,
      secret: config.http.secret,
      confirmLogin: live.http.confirmLogin,
      trustedProxies: live.http.trustedProxies,
      formActionOrigins: () => formActionOrigins,
      now,
      randomToken: () => randomToken(32),
      readiness: () => {
        if (cluster) return { ...clusterReadiness(cluster), idp: oidc.ready };
        const servers = Object.fromEntries(links.map(({ name, link }) => [name, link.linkUp]));
        return { management: Object.values(servers).every(Boolean), servers, idp: oidc.ready };
      },
      backchannelLogout: (token) => revocation.logout(token),
      log: getLogger("http"),
    });
  const httpLog = getLogger("http");
  const listeners = await startListeners(config, {
    buildApp,
    renderMetrics: () => metrics.render(),
    limits: {
      ...connectionLimits(config),
      // Live: a reload may change them.
      trustedProxies: () => current.value.http.trustedProxies,
      onProblem: (problem: string) => httpLog.warning("HTTP listener: {problem}", { problem }),
    },
    log,
  }).catch(abandon);
  // Two messages, not an optional part: every string property is quoted in the line, so an
  // empty one printed as "". The address is one value (`"127.0.0.1":31171` read as two); a JSON
  // line keeps its host and port fields as well.
  const serving = {
    address: hostAndPort(config.http.listen.host, listeners.port),
    host: config.http.listen.host,
    port: listeners.port,
    baseUrl: config.http.baseUrl.href,
  };
  if (cluster) {
    log.info("Serving sign-in pages on {address} for {baseUrl} as cluster instance {instance}", {
      ...serving,
      instance: cluster.instanceId,
    });
  } else log.info("Serving sign-in pages on {address} for {baseUrl}", serving);

  /** Set once stop() begins. */
  let stopping: Promise<void> | undefined;
  /** The reload under way (settled either way), for stop() to wait for. */
  let reloadInFlight: Promise<unknown> = Promise.resolve();
  const discovery = keepDiscovering({
    oidc,
    issuer: config.oidc.issuer.href,
    clock,
    log,
    onDiscovered: (as) => {
      const endpoint = authorizationOrigin(as.authorization_endpoint);
      if (endpoint !== undefined) {
        formActionOrigins = [...new Set([...formActionOrigins, endpoint])];
      }
      const blindSpot = refreshCheckBlindSpot(as, config.sessions);
      if (blindSpot !== undefined) log.warning(blindSpot);
    },
  });
  // Sign-ins a previous run left in the store keep their deadlines, and a new client on one of
  // their cids ends them, as when a cluster instance takes a link over.
  for (const { events } of links) await events.adoptPendingLogins();
  for (const { link } of links) link.start();
  let control: ControlServer | undefined;
  const intervalMs = config.sessions.recheckIntervalMs;
  const serverNames = config.servers.map(({ name }) => name);
  const recheck = intervalMs === undefined ? undefined : new RecheckScheduler({
    intervalMs,
    clock,
    // In a cluster each server's sessions are re-checked by the instance holding its link, so
    // two instances never refresh (and so rotate) one refresh token at once.
    servers: cluster ? () => cluster.leases() : () => serverNames,
    listBound: (servers) => listBound(store, servers),
    recheck: ({ sessionId, server }) => admission.recheckSession(sessionId, server),
    log: getLogger("recheck"),
  });
  recheck?.start();

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const stop = () => {
    stopping ??= (async () => {
      log.info("Shutting down");
      discovery.stop();
      // A reload under way finishes first: it binds listeners (a moved metrics port, a new
      // certificate), which closed before it would be left open.
      await reloadInFlight;
      // Each step on its own: one that fails must not leave the store open (its file lock),
      // the links connected or the service waiting for a stop that never ends.
      const step = async (what: string, close: () => unknown) => {
        try {
          await close();
        } catch (error) {
          log.error("Stopping {what} failed: {error}", { what: words(what), error: String(error) });
        }
      };
      // Both stop taking requests at once and finish the answers under way (each for a bounded
      // time: a revoke's kills, a back-channel logout) before the links and the store they use
      // are closed below.
      await Promise.all([
        step("the HTTP listeners", () => listeners.close()),
        step("the control socket", () => control?.close()),
      ]);
      await step("the kept revocations", () => revocation.close());
      await step("the periodic re-check", () => recheck?.stop());
      await step("the management links", () => Promise.all(links.map(({ link }) => link.stop())));
      // No refresh check is made any more: an IdP outage under way is told as it stands.
      admission.stopped();
      await step("the cluster", () => cluster?.stop());
      // Released once nothing acts on this bridge's servers any more.
      await step("the server name claims", () => nameClaims?.stop());
      // Revocations still waiting for a slot are not sent after the stop.
      oidc.close();
      idp.close();
      stopSweeper();
      await step("the session store", () => store.close());
      log.info("Stopped");
      resolveDone();
    })();
    return stopping;
  };
  if (config.control.socket !== "") {
    try {
      control = await startControlServer(config.control.socket, {
        store,
        revocation: {
          // Its message, not "Internal error", tells the admin what becomes of the revoke.
          revoke: (target) =>
            revocation.revoke(target).catch((error) => {
              throw error instanceof RevokeDeferredError
                ? new ControlRequestError(error.message)
                : error;
            }),
        },
        now,
        log: getLogger("control"),
      });
    } catch (error) {
      await stop();
      throw error;
    }
  }
  logStarted(log, config);

  /** Puts a validated config in force; keys that cannot change live keep their old value. */
  const reload = (next: ResolvedConfig) => {
    if (stopping !== undefined) {
      return Promise.reject(new Error("The service is stopping: not reloaded"));
    }
    const run = reloadNow(next);
    reloadInFlight = run.catch(() => {});
    return run;
  };
  const reloadNow = async (next: ResolvedConfig) => {
    const { config: merged, kept } = mergeReload(current.value, next);
    const apply = await listeners.prepare(merged);
    // The listeners first: the one step that can still fail leaves everything as it was.
    await apply();
    const old = current.value;
    if (merged.log.level !== old.log.level || merged.log.format !== old.log.format) {
      configureLogging(merged.log.level, merged.log.format);
    }
    current.replace(merged);
    // Said once the reload took (a failed one keeps nothing of it), under its own [log]: said
    // before, a reload lowering the level to warning lost this warning.
    if (kept.length > 0) {
      log.warning(
        // Not "keeping the old values": a removed server's policy follows the new file where it
        // followed the old one (mergeReload), and an added server has no old value.
        "Reload: these changes cannot be made while running and wait for a restart: {keys}; " +
          "the rest of the new configuration is in force",
        { keys: quotedList(kept) },
      );
    }
    const added = claimPathsAdded(policiesOf(old), policiesOf(merged));
    if (added.length > 0 && merged.sessions.reauthCheck === "none") {
      log.warning(
        "Reload: the policy now reads {claims}, which sessions signed in before did not keep: " +
          "judged at their next renegotiation without them, they are denied where a rule " +
          'requires one, and those users sign in again (sessions.reauth_check = "refresh" ' +
          "would ask the identity provider instead)",
        { claims: quotedList(added) },
      );
    }
    log.info("Reloaded the configuration");
    return { kept };
  };
  return { done, stop, reload };
}

/**
 * What runs, once it all started, at info: the version (this build's own: words), the session
 * store (where, without credentials: sessionStoreWhere) and the IdP, values (quoted). No secret:
 * the Redis URL is written without its user info.
 */
function logStarted(log: Logger, config: ResolvedConfig): void {
  const started = {
    version: words(VERSION),
    backend: config.sessions.backend,
    store: sessionStoreWhere(config.sessions),
    issuer: config.oidc.issuer.href,
  };
  if (started.store === undefined) {
    log.info(
      "Started openvpn-auth-oidc {version}: sessions in the {backend} store, IdP {issuer}",
      started,
    );
  } else {
    log.info(
      "Started openvpn-auth-oidc {version}: sessions in the {backend} store {store}, IdP {issuer}",
      started,
    );
  }
}

/**
 * One server's policy, read from the config in force at each use. A session keeps the claims
 * every server's policy reads, so it can be judged on whichever server its client moves to.
 */
function serverPolicy(current: CurrentConfig, name: string): PolicyConfig {
  return {
    get oidc() {
      return current.value.oidc;
    },
    get authorization() {
      return serverConfig(current.value, name).authorization;
    },
    get clientConfig() {
      return serverConfig(current.value, name).clientConfig;
    },
    get alsoKeep() {
      return current.value.servers.flatMap((server) =>
        policyClaimPaths({ oidc: current.value.oidc, ...server })
      );
    },
  };
}

/** Every server's policy as a config has it (for what a reload changes). */
function policiesOf(config: ResolvedConfig): PolicyConfig[] {
  return config.servers.map((server) => ({ oidc: config.oidc, ...server }));
}
