/**
 * `check-config --probe`, the I/O half: connects to each OpenVPN management interface (password,
 * `version`), reads the IdP's discovery document and keys, sends one authorization request to
 * see whether the IdP accepts the redirect URI, sends one token request with a made-up code to
 * see whether it accepts the client's credentials, and asks `<base_url>/healthz`. When nothing
 * listens on http.listen yet, the probe serves it itself for a moment, so the path from base_url
 * (DNS, proxy, TLS) to this host is checked before the service is started, and how the request
 * arrived tells whether a reverse proxy names the browser (proxy_check.ts); when something
 * listens, its own /healthz tells the running service from another program. It binds
 * metrics.listen too, as the service does at start, and looks at the session store and the
 * control socket's directory (local_probe.ts). checks.ts and local_checks.ts judge every answer.
 */
import { existsSync } from "node:fs";
import * as oauth from "oauth4webapi";
import { systemClock } from "../clock.ts";
import type { ResolvedConfig } from "../config/types.ts";
import { formatAddress } from "../management/address.ts";
import { version } from "../management/commands.ts";
import { COMMAND_TIMEOUT_LIMITS_MS, ManagementConnection } from "../management/connection.ts";
import { ListenError } from "../http/connection_guard.ts";
import { connectionLimits } from "../http/listeners.ts";
import { callbackUrl, HEALTH_PATH } from "../http/routes.ts";
import { FORWARDING_HEADERS, trustedProxies } from "../http/client_ip.ts";
import { type HttpEnv, type HttpServer, serveHttp } from "../http/serve.ts";
import { authorizationUrl } from "../oidc/authorization_url.ts";
import { plainHttpAllowed } from "../oidc/back_channel.ts";
import { describeFetchFailure, isUntrustedCertificate } from "../oidc/fetch_failure.ts";
import { type FetchLike, readCapped, timedFetch } from "../oidc/http.ts";
import { idpTransport } from "../oidc/idp_transport.ts";
import {
  type AuthorizationAnswer,
  baseUrlCheck,
  baseUrlReachCheck,
  type CheckResult,
  clientAuthCheck,
  discoveryCheck,
  type DiscoveryOutcome,
  type EndpointName,
  jwksCheck,
  type JwksOutcome,
  listenCheck,
  listenHeldByService,
  listenHolderCheck,
  managementCheck,
  type ManagementOutcome,
  metricsListenCheck,
  OPENVPN_APPARMOR_PROFILE,
  redirectCheck,
  startFileCheck,
} from "./checks.ts";
import { askListen } from "./listen_ask.ts";
import { localChecks } from "./local_probe.ts";
import { type ArrivedRequest, proxyCheck, type ProxySetting } from "./proxy_check.ts";
import { readStartTls } from "./start_files.ts";
import { requestToken } from "./token_request.ts";
import { errorText } from "../error_text.ts";

export interface ProbeDeps {
  fetch?: FetchLike;
  /** Serves /healthz on http.listen, and binds metrics.listen; rejects when an address is taken. */
  serve?: typeof serveHttp;
  readTextFile?: (path: string) => string;
  /** Asks http.listen itself for /healthz when it is taken (default: over the network). */
  askListen?: typeof askListen;
  /** Whether a file exists (default: the file system's answer). */
  fileExists?: (path: string) => boolean;
}

const BODY_START_CHARS = 2000;
/**
 * Carries the probe's token on its request to base_url, so that the listener knows that request
 * from any other arriving meanwhile (a load balancer's health check). Proxies pass headers they
 * do not know; one that drops it leaves the reverse proxy check out.
 */
const PROBE_MARK_HEADER = "x-openvpn-auth-oidc-probe";
const ENDPOINTS: readonly EndpointName[] = [
  "authorization_endpoint",
  "token_endpoint",
  "jwks_uri",
  "userinfo_endpoint",
  "revocation_endpoint",
];

export async function runProbe(
  config: ResolvedConfig,
  deps: ProbeDeps = {},
): Promise<CheckResult[]> {
  // The IdP is asked as the service asks it (oidc.tls_ca_file); base_url with the runtime's fetch.
  const idp = idpTransport(config.oidc.tlsCaFile);
  try {
    return await probeAll(config, deps, deps.fetch ?? idp.fetch);
  } finally {
    idp.close();
  }
}

async function probeAll(
  config: ResolvedConfig,
  deps: ProbeDeps,
  idpFetch: FetchLike,
): Promise<CheckResult[]> {
  const fetchImpl = deps.fetch ?? fetch;
  const serve = deps.serve ?? serveHttp;
  const timeoutMs = config.oidc.httpTimeoutMs;
  const request = timedFetch(idpFetch, timeoutMs, systemClock);
  const get: Get = (url, headers = {}) =>
    request(url, { method: "GET", headers, redirect: "manual" });

  const listen = `${config.http.listen.host}:${config.http.listen.port}`;
  const health = `${config.http.baseUrl.href.replace(/\/+$/, "")}${HEALTH_PATH}`;
  const token = crypto.randomUUID();
  // Read apart from serving: a file that cannot be read is the admin's to fix, not a sign that
  // something listens on http.listen. Without it nothing is served and base_url is not asked.
  const { tls, problems } = readStartTls(config, deps.readTextFile);
  let listener: HttpServer | undefined;
  /** The probe's own request to base_url, as it reached the listener. */
  let arrived: ArrivedRequest | undefined;
  let taken = false;
  /** Why http.listen cannot be served at all (not: something serves it already). */
  let unservable: string | undefined;
  if (problems.length === 0) {
    try {
      listener = await serve(
        { ...config.http.listen, tls, ...connectionLimits(config) },
        (req, env) => {
          if (req.headers.get(PROBE_MARK_HEADER) === token) arrived = arrivedRequest(req, env);
          // Any other path is answered with the token and the path, so that an answer that
          // comes back through base_url from another path is known for the probe's own.
          const path = new URL(req.url).pathname;
          const headers = { "cache-control": "no-store" };
          return path === HEALTH_PATH
            ? new Response(token, { headers })
            : new Response(`${token} ${path}`, { status: 404, headers });
        },
      );
    } catch (error) {
      // Taken: the service (or something else) listens there. Anything else (an address not
      // of this host, a port below 1024 without the capability) stops the service too.
      const failure = listenFailure(error, config.http.listen);
      if (failure.code === "EADDRINUSE") taken = true;
      else unservable = failure.message;
    }
  }
  // Taken: by the running service, or by another program, which its /healthz tells apart. One
  // that could not be asked is taken for the service, as before it was asked.
  const holder = taken
    ? await (deps.askListen ?? askListen)(
      config.http.listen,
      config.http.tlsCertFile !== undefined,
      timeoutMs,
    )
    : undefined;
  const otherProgram = holder !== undefined && listenHeldByService(holder) === false;
  const serviceRunning = taken && !otherProgram;
  const results: CheckResult[] = [];
  const openvpnConfined = (deps.fileExists ?? existsSync)(OPENVPN_APPARMOR_PROFILE);
  let metrics: Awaited<ReturnType<typeof bindMetrics>>;
  try {
    metrics = await bindMetrics(config, serve, serviceRunning);
    for (const server of config.servers) {
      results.push(
        managementCheck({
          server: server.name,
          address: formatAddress(server.management),
          hasPassword: server.password !== undefined,
          serviceRunning,
          openvpnConfined,
        }, await connectManagement(server, timeoutMs)),
      );
    }
    results.push(...await probeIdp(config, request, get));
    if (problems.length > 0) results.push(...problems.map(startFileCheck));
    else if (unservable !== undefined) results.push(listenCheck(unservable));
    else if (otherProgram) results.push(listenHolderCheck(listen, holder));
    else {
      const outcome = await askHealth(fetchImpl, timeoutMs, health, listener, token);
      results.push(baseUrlCheck(health, listen, outcome));
      const proxy = arrived && proxyCheck(proxySetting(config), arrived);
      if (proxy !== undefined) results.push(proxy);
    }
    const reach = baseUrlReachCheck(config.http.baseUrl);
    if (reach !== undefined) results.push(reach);
    if (metrics !== undefined) results.push(metrics.result);
    results.push(...await localChecks(config, serviceRunning));
  } finally {
    await listener?.close();
    await metrics?.listener?.close();
  }
  return results;
}

function arrivedRequest(request: Request, env: HttpEnv): ArrivedRequest {
  const forwarding: Record<string, string> = {};
  for (const name of FORWARDING_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) forwarding[name] = value;
  }
  return { peer: env.remoteAddr, host: request.headers.get("host") ?? undefined, forwarding };
}

function proxySetting(config: ResolvedConfig): ProxySetting {
  return {
    baseUrl: config.http.baseUrl,
    listen: config.http.listen,
    isTrusted: trustedProxies(config.http.trustedProxies),
    maxConnectionsPerClient: config.http.maxConnectionsPerClient,
  };
}

/**
 * Binds metrics.listen (when set) after http.listen, as the service does at start: it does not
 * start when it cannot. Closed by the caller, like the http.listen listener.
 */
async function bindMetrics(
  config: ResolvedConfig,
  serve: typeof serveHttp,
  serviceRunning: boolean,
): Promise<{ listener: HttpServer | undefined; result: CheckResult } | undefined> {
  const at = config.metrics.listen;
  if (at === undefined) return undefined;
  const address = `${at.host}:${at.port}`;
  try {
    const listener = await serve(
      { ...at, ...connectionLimits(config) },
      () => new Response("probe", { status: 404 }),
    );
    return { listener, result: metricsListenCheck(address, { kind: "bound" }, serviceRunning) };
  } catch (error) {
    const { code, message } = listenFailure(error, at);
    const outcome = { kind: "failed" as const, code, message };
    return { listener: undefined, result: metricsListenCheck(address, outcome, serviceRunning) };
  }
}

/**
 * Why binding `at` failed, as the service would say it (ListenError: the address, the reason and
 * the runtime's code; EADDRINUSE: taken). The connection guard throws one already; a server
 * given to the probe (tests) may throw the runtime's own error.
 */
function listenFailure(error: unknown, at: { host: string; port: number }): ListenError {
  return error instanceof ListenError ? error : new ListenError(at.host, at.port, error);
}

type TimedFetch = ReturnType<typeof timedFetch>;
type Get = (url: string, headers?: Record<string, string>) => Promise<Response>;

/**
 * `<base_url>/healthz` is this host behind DNS, a proxy and TLS, not the IdP: it is asked with a
 * plain fetch and a deadline of its own, not through the IdP's (whose failures read "IdP ..."
 * and would send the admin to the IdP for a reverse proxy without its backend). A status is
 * kept as such; a transport failure keeps the error fetch gave.
 */
async function askHealth(
  fetchImpl: FetchLike,
  timeoutMs: number,
  url: string,
  listener: HttpServer | undefined,
  token: string,
) {
  // The signal covers the body too: reading it fails once the deadline passes.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const headers = { [PROBE_MARK_HEADER]: token };
    const response = await fetchImpl(url, { method: "GET", redirect: "manual", signal, headers });
    // Capped like every answer the service reads: base_url may lead anywhere.
    const body = new TextDecoder().decode(await readCapped(response));
    if (listener === undefined) return { kind: "service" as const, status: response.status };
    // The probe's answer to another path than /healthz: "<token> <path>".
    const path = body.startsWith(`${token} `) ? body.slice(token.length + 1) : undefined;
    return {
      kind: "probe-listener" as const,
      reached: body === token,
      ...(path === undefined ? {} : { path }),
      status: response.status,
    };
  } catch (error) {
    const message = signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : describeFetchFailure(error);
    return listener === undefined
      ? { kind: "service" as const, message }
      : { kind: "probe-listener" as const, reached: false, message };
  }
}

/** The least the management check waits for its answers, whatever oidc.http_timeout is. */
const MANAGEMENT_MIN_WAIT_MS = 1_000;

/** One connection attempt: handshake (password, version), then `version`; never retried. */
async function connectManagement(
  server: ResolvedConfig["servers"][number],
  timeoutMs: number,
): Promise<ManagementOutcome> {
  // oidc.http_timeout bounds the wait, as for the IdP, but a short one (set for a fast IdP) is no
  // time for a management interface: the check waited 50 ms in all, and a busy host failed it.
  const waitMs = Math.min(server.commandTimeoutMs, Math.max(timeoutMs, MANAGEMENT_MIN_WAIT_MS));
  const connection = new ManagementConnection({
    address: server.management,
    password: server.password,
    commandTimeoutMs: Math.max(COMMAND_TIMEOUT_LIMITS_MS.min, waitMs),
    // The first failure is the answer: no reconnect happens before close().
    reconnectMinDelayMs: 3_600_000,
    reconnectMaxDelayMs: 3_600_000,
    name: `probe ${server.name}`,
    clock: systemClock,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await new Promise<ManagementOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: "failed", code: "timeout", message: `no answer in ${waitMs} ms` }),
      waitMs,
    );
    connection.onEvent(async (event) => {
      if (event.type === "connect-failed") {
        resolve({ kind: "failed", code: event.error.code, message: event.error.message });
      } else if (event.type === "disconnected") {
        resolve({ kind: "failed", code: "disconnected", message: event.reason });
      } else if (event.type === "connected") {
        try {
          const reply = await connection.send(version());
          resolve({
            kind: "connected",
            managementVersion: event.managementVersion,
            versionLines: reply.type === "lines" ? reply.lines : [],
          });
        } catch (error) {
          resolve({ kind: "failed", code: "version", message: (error as Error).message });
        }
      }
    });
    connection.start();
  });
  clearTimeout(timer);
  await connection.close();
  return outcome;
}

async function probeIdp(
  config: ResolvedConfig,
  request: TimedFetch,
  get: Get,
): Promise<CheckResult[]> {
  const issuer = config.oidc.issuer;
  const discovered = await discover(issuer, request, config.oidc.tlsCaFile?.path);
  const results = [
    discoveryCheck(issuer.href, discovered.outcome, {
      useUserinfo: config.oidc.useUserinfo,
      revokeRefreshTokens: config.oidc.revokeRefreshTokens,
    }),
  ];
  const as = discovered.as;
  // A failed discovery check includes endpoints the service would not call (plain http): the
  // probe does not call them either.
  if (as === undefined || !results[0]!.ok) return results;
  results.push(jwksCheck(as.jwks_uri!, await readKeys(get, as.jwks_uri!)));
  const redirectUri = callbackUrl(config.http.baseUrl);
  results.push(
    redirectCheck(
      redirectUri,
      config.oidc.clientId,
      await authorize(get, as.authorization_endpoint!, config, redirectUri),
    ),
  );
  results.push(
    clientAuthCheck(
      config.oidc.clientAuthMethod,
      await requestToken(as, config.oidc, redirectUri, request),
    ),
  );
  return results;
}

async function discover(
  issuer: URL,
  request: TimedFetch,
  caFile: string | undefined,
): Promise<{ outcome: DiscoveryOutcome; as?: oauth.AuthorizationServer }> {
  const options = {
    [oauth.customFetch]: request,
    [oauth.allowInsecureRequests]: plainHttpAllowed(issuer),
  };
  try {
    const response = await oauth.discoveryRequest(issuer, options);
    const as = await oauth.processDiscoveryResponse(issuer, response);
    const endpoints: Partial<Record<EndpointName, string>> = {};
    for (const name of ENDPOINTS) {
      // Not a string: oauth4webapi refuses it as no valid URL, and so does the check.
      if (as[name] !== undefined) endpoints[name] = String(as[name]);
    }
    return { outcome: { kind: "ok", issuer: as.issuer, endpoints }, as };
  } catch (error) {
    return { outcome: discoveryFailure(error, caFile) };
  }
}

function discoveryFailure(error: unknown, caFile: string | undefined): DiscoveryOutcome {
  if (error instanceof oauth.OperationProcessingError) {
    if (error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      const body = (error.cause as { body?: { issuer?: unknown } } | undefined)?.body;
      return {
        kind: "issuer-mismatch",
        actual: typeof body?.issuer === "string" ? body.issuer : undefined,
      };
    }
    if (error.code === oauth.RESPONSE_IS_NOT_CONFORM && error.cause instanceof Response) {
      return { kind: "http-status", status: error.cause.status };
    }
    return { kind: "invalid", message: error.message };
  }
  if (error instanceof Error && error.name === "IdpUnreachableError") {
    // Its message ends in the fix the check gives better: the fetch's own error says it all.
    if (isUntrustedCertificate(error)) {
      const message = describeFetchFailure(error.cause);
      return { kind: "untrusted-certificate", message, caFile };
    }
    return { kind: "unreachable", message: error.message };
  }
  return { kind: "invalid", message: errorText(error) };
}

async function readKeys(get: Get, jwksUri: string): Promise<JwksOutcome> {
  try {
    const response = await get(jwksUri, { accept: "application/json" });
    if (response.status !== 200) return { kind: "failed", message: `HTTP ${response.status}` };
    const body = await response.json() as { keys?: unknown };
    if (!Array.isArray(body.keys)) return { kind: "failed", message: "no 'keys' list" };
    return { kind: "ok", keys: body.keys as { kty?: unknown; alg?: unknown; use?: unknown }[] };
  } catch (error) {
    return { kind: "failed", message: (error as Error).message };
  }
}

async function authorize(
  get: Get,
  endpoint: string,
  config: ResolvedConfig,
  redirectUri: string,
): Promise<AuthorizationAnswer | { failed: string }> {
  // The very request the service sends (authorize_params too), with values of its own.
  const url = authorizationUrl(endpoint, config.oidc, redirectUri, {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier: oauth.generateRandomCodeVerifier(),
  });
  try {
    const response = await get(url.href, { accept: "text/html" });
    // Capped like every answer the service reads: base_url may lead anywhere.
    const body = new TextDecoder().decode(await readCapped(response));
    return {
      status: response.status,
      location: response.headers.get("location") ?? undefined,
      bodyStart: body.slice(0, BODY_START_CHARS),
    };
  } catch (error) {
    return { failed: (error as Error).message };
  }
}
