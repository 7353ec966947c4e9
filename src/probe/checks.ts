/**
 * `check-config --probe`: what each answer from OpenVPN, the IdP and base_url means, and what
 * the admin should do about a failure. Pure: probe.ts does the I/O and hands the outcomes here.
 * The session store's and the control socket's checks are in local_checks.ts.
 */
import { HEALTH_PATH } from "../http/routes.ts";
import {
  MANAGEMENT_TOO_OLD,
  missingFixes,
  parseOpenvpnVersion,
  servesBrowserSignIn,
} from "../management/openvpn_version.ts";
import { isLoopbackHost } from "../loopback.ts";
import {
  type BackChannelEndpoint,
  type BackChannelNeeds,
  backChannelRefusal,
  plainHttpAllowed,
} from "../oidc/back_channel.ts";
import { UNTRUSTED_CERTIFICATE_FIX } from "../oidc/fetch_failure.ts";
import { SIGNED_JWT_REFUSAL_ADVICE } from "../oidc/signed_jwt_advice.ts";
import { templateIssuerAdvice } from "../oidc/template_issuer.ts";
import { printable } from "../printable_text.ts";

export interface CheckResult {
  /** Short name of what was checked, e.g. `management default`, `discovery`. */
  readonly check: string;
  readonly ok: boolean;
  /** What was found (ok) or what went wrong (failure). No secrets; raw (formatResults escapes). */
  readonly detail: string;
  /** What to change, for failures and warnings. Raw, like `detail`. */
  readonly fix?: string;
  /**
   * Passed, but the admin should look (printed `warn`): a set-up that works only in part, such
   * as a loopback base_url that no other host's browser reaches. Does not fail the probe.
   */
  readonly warning?: boolean;
}

export function pass(check: string, detail: string): CheckResult {
  return { check, ok: true, detail };
}

export function fail(check: string, detail: string, fix: string): CheckResult {
  return { check, ok: false, detail, fix };
}

export function warn(check: string, detail: string, fix: string): CheckResult {
  return { check, ok: true, detail, fix, warning: true };
}

/** How a management connection attempt ended. */
export type ManagementOutcome =
  | { kind: "connected"; managementVersion: number; versionLines: readonly string[] }
  /** `code` is a ManagementConnectionErrorCode, or "timeout" when nothing happened in time. */
  | { kind: "failed"; code: string; message: string };

export interface ManagementTarget {
  readonly server: string;
  /** `unix:///path` or `tcp://host:port`. */
  readonly address: string;
  readonly hasPassword: boolean;
  /** The running service holds http.listen (its /healthz answered there). */
  readonly serviceRunning: boolean;
  /** An AppArmor profile for openvpn is installed on this host (OPENVPN_APPARMOR_PROFILE). */
  readonly openvpnConfined?: boolean;
}

/**
 * Where Ubuntu (25.04 and later) installs the AppArmor profile that confines every run of
 * /usr/sbin/openvpn. It allows OpenVPN no unix socket at all: OpenVPN fails to bind its management
 * socket ("Permission denied"), exits, and the bridge finds no socket.
 */
export const OPENVPN_APPARMOR_PROFILE = "/etc/apparmor.d/openvpn";

/** What to add to the profile's local part for the socket at `path`. */
function appArmorSocketAdvice(path: string): string {
  return ` AppArmor confines OpenVPN on this host (${OPENVPN_APPARMOR_PROFILE}) and lets it ` +
    "create no socket: OpenVPN's log then says 'Socket bind[...] failed on unix domain socket " +
    "... Permission denied' and it exits. Add the line " +
    `'file rw "${path}",' to /etc/apparmor.d/local/openvpn, run ` +
    `'apparmor_parser -r ${OPENVPN_APPARMOR_PROFILE}' and restart OpenVPN.`;
}

/** The release to run, with every fix the bridge relies on (openvpn_version.ts). */
const UPDATE_OPENVPN = "Update OpenVPN to 2.6.21 or 2.7.5 or later";

export function managementCheck(target: ManagementTarget, outcome: ManagementOutcome): CheckResult {
  const check = `management ${target.server}`;
  if (outcome.kind === "connected") {
    const line = outcome.versionLines.find((text) => text.startsWith("OpenVPN Version:"));
    const openvpn = line === undefined
      ? "OpenVPN"
      : line.slice("OpenVPN Version:".length).trim().split(" ").slice(0, 2).join(" ");
    const detail =
      `${target.address}: ${openvpn}, management version ${outcome.managementVersion}` +
      (target.hasPassword ? ", password accepted" : "");
    // The link would come up and every client be stopped (ClientEvents): a failure, not a risk.
    if (!servesBrowserSignIn(outcome.managementVersion)) {
      return fail(check, `${detail}: ${MANAGEMENT_TOO_OLD}`, `${UPDATE_OPENVPN}.`);
    }
    const version = line === undefined ? undefined : parseOpenvpnVersion(line);
    const risks = version === undefined ? [] : missingFixes(version);
    if (risks.length === 0) return pass(check, detail);
    return warn(
      check,
      `${detail}; without fixes released later, ${risks.join("; ")}`,
      `${UPDATE_OPENVPN}. The version line names the upstream release only: if your ` +
        "distribution's package has these fixes backported (its changelog names the CVEs), " +
        "ignore this.",
    );
  }
  const detail = `${target.address}: ${outcome.message}`;
  const oneClient = target.serviceRunning
    ? " OpenVPN serves one management client at a time: if openvpn-auth-oidc is running " +
      "(http.listen is taken), stop it while probing."
    : "";
  switch (outcome.code) {
    case "password-rejected":
      return fail(
        check,
        detail,
        "Set openvpn.password_file to a file holding the password of the password file named " +
          "on the 'management' line of OpenVPN's config.",
      );
    case "password-required":
      return fail(
        check,
        detail,
        "OpenVPN asks for a management password: set openvpn.password_file.",
      );
    case "socket":
      if (/EACCES|EPERM/.test(outcome.message)) {
        return fail(
          check,
          detail,
          "The service user cannot reach the socket: put it in a directory the user can enter " +
            "(e.g. /run/openvpn) and allow its group in OpenVPN's config " +
            "('management-client-group openvpn-auth-oidc').",
        );
      }
      if (/ENOENT/.test(outcome.message)) {
        const path = target.address.startsWith("unix://")
          ? target.address.slice("unix://".length)
          : undefined;
        return fail(
          check,
          detail,
          "No socket there: start OpenVPN with 'management <path> unix' and " +
            "'management-client-auth', and set openvpn.management to the same path." +
            (target.openvpnConfined && path !== undefined ? appArmorSocketAdvice(path) : ""),
        );
      }
      return fail(
        check,
        detail,
        "Start OpenVPN with a 'management' line matching openvpn.management." + oneClient,
      );
    default:
      return fail(
        check,
        detail,
        "Check that openvpn.management is OpenVPN's management interface and that this user " +
          "is allowed ('management-client-user'/'management-client-group')." + oneClient,
      );
  }
}

/** Discovery document members the service reads (URLs as the IdP wrote them). */
export type EndpointName = "authorization_endpoint" | BackChannelEndpoint;

/** How fetching the discovery document ended. */
export type DiscoveryOutcome =
  | { kind: "ok"; issuer: string; endpoints: Readonly<Partial<Record<EndpointName, string>>> }
  | { kind: "http-status"; status: number }
  | { kind: "issuer-mismatch"; actual: string | undefined }
  | { kind: "unreachable" | "invalid"; message: string }
  /** The IdP's certificate chains to no root this host trusts; `caFile`: oidc.tls_ca_file. */
  | { kind: "untrusted-certificate"; message: string; caFile: string | undefined };

/** What the configuration asks of the discovery document besides the always needed endpoints. */
export interface DiscoveryNeeds extends BackChannelNeeds {
  /** oidc.use_userinfo: every sign-in reads userinfo_endpoint. */
  readonly useUserinfo: boolean;
}

/** The fix for a discovery document naming the issuer `actual` (templateIssuerAdvice). */
function issuerFix(actual: string): string {
  const template = templateIssuerAdvice(actual);
  return template === undefined
    ? `Set oidc.issuer = "${actual}" (tokens carry that issuer).`
    : `The issuer is ${template}.`;
}

export function discoveryCheck(
  issuer: string,
  outcome: DiscoveryOutcome,
  needs: DiscoveryNeeds,
): CheckResult {
  const check = "idp discovery";
  const where = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  switch (outcome.kind) {
    case "ok": {
      // The service refuses a document without the first three ("Discovery document lacks
      // endpoints", or no ID token can be checked), and every sign-in without userinfo when
      // use_userinfo is on.
      const required: EndpointName[] = ["authorization_endpoint", "token_endpoint", "jwks_uri"];
      if (needs.useUserinfo) required.push("userinfo_endpoint");
      const missing = required.filter((name) => outcome.endpoints[name] === undefined);
      if (missing.length > 0) {
        return fail(
          check,
          `${where} lacks ${missing.join(", ")}`,
          missing.every((name) => name === "userinfo_endpoint")
            ? "The IdP has no userinfo endpoint: set oidc.use_userinfo = false (the ID token's " +
              "claims are used)."
            : "oidc.issuer must name an OpenID Connect provider (Keycloak: " +
              "https://<host>/realms/<realm>).",
        );
      }
      const refusal = backChannelRefusal(outcome.endpoints, new URL(issuer), needs);
      if (refusal !== undefined) {
        return fail(
          check,
          `${where} ${refusal}`,
          "Make the IdP publish its https address in its discovery document" +
            (plainHttpAllowed(new URL(issuer))
              ? ", or, with this loopback http issuer, a loopback one"
              : "") +
            " (Keycloak behind a TLS proxy: set KC_HOSTNAME to the https URL and " +
            "KC_PROXY_HEADERS=xforwarded, older versions KC_PROXY=edge, with the proxy sending " +
            "X-Forwarded-Proto: https; other IdPs: their frontend or issuer URL setting).",
        );
      }
      return pass(check, `${where}: issuer ${outcome.issuer}`);
    }
    case "http-status":
      return fail(
        check,
        `${where} answered HTTP ${outcome.status}`,
        "oidc.issuer must be the issuer URL exactly (Keycloak: https://<host>/realms/<realm>, " +
          "realm name included).",
      );
    case "issuer-mismatch":
      return fail(
        check,
        `the discovery document names the issuer ${outcome.actual ?? "(none)"}, not ${issuer}`,
        outcome.actual === undefined
          ? "oidc.issuer must name an OpenID Connect provider."
          : issuerFix(outcome.actual),
      );
    case "unreachable":
      return fail(
        check,
        `${where}: ${outcome.message}`,
        "Check the host name, port, firewall and proxy between this host and the IdP, and " +
          "that the IdP is running.",
      );
    case "untrusted-certificate":
      return fail(
        check,
        `${where}: ${outcome.message}`,
        outcome.caFile === undefined
          ? `${UNTRUSTED_CERTIFICATE_FIX[0]!.toUpperCase()}${UNTRUSTED_CERTIFICATE_FIX.slice(1)}.`
          : `oidc.tls_ca_file (${outcome.caFile}) holds no CA the IdP's certificate chains to: ` +
            "put the CA that signed it there (and any intermediate CA the IdP does not send).",
      );
    case "invalid":
      return fail(
        check,
        `${where}: ${outcome.message}`,
        "The URL does not serve a valid OpenID Connect discovery document: check oidc.issuer.",
      );
  }
}

/** The signing keys at jwks_uri: each key's `kty`/`alg`/`use`, or why they could not be read. */
export type JwksOutcome =
  | { kind: "ok"; keys: readonly { kty?: unknown; alg?: unknown; use?: unknown }[] }
  | { kind: "failed"; message: string };

export function jwksCheck(jwksUri: string, outcome: JwksOutcome): CheckResult {
  const check = "idp keys";
  if (outcome.kind === "failed") {
    return fail(
      check,
      `${jwksUri}: ${outcome.message}`,
      "The IdP's jwks_uri must be reachable from this host; ID tokens cannot be checked without it.",
    );
  }
  const signing = outcome.keys.filter((key) => key.use === undefined || key.use === "sig");
  if (signing.length === 0) {
    return fail(
      check,
      `${jwksUri}: no signing keys`,
      "Give the realm (or provider) an active signing key (Keycloak: Realm settings, Keys).",
    );
  }
  const kinds = [...new Set(signing.map((key) => String(key.alg ?? key.kty)))].join(", ");
  return pass(check, `${jwksUri}: ${signing.length} signing key(s) (${kinds})`);
}

/** The authorization endpoint's answer to a request with our client_id and redirect URI. */
export interface AuthorizationAnswer {
  readonly status: number;
  readonly location: string | undefined;
  /** The start of the body (error pages say what is wrong). */
  readonly bodyStart: string;
}

/**
 * IdPs check the redirect URI before anything else and, when it is not registered, show an
 * error page (never a redirect to it): oidc-provider answers 400 "redirect_uri did not match
 * any of the client's registered redirect_uris", Keycloak 400 "Invalid parameter:
 * redirect_uri". An unknown client_id is answered the same way. A login page (200) or a
 * redirect to the login page means the request was accepted; a redirect back to the redirect URI
 * with `error=` means the URI is registered but something else in the request is refused.
 */
export function redirectCheck(
  redirectUri: string,
  clientId: string,
  answer: AuthorizationAnswer | { failed: string },
): CheckResult {
  const check = "redirect uri";
  const register = `Register ${redirectUri} as a valid redirect URI of client "${clientId}" at ` +
    "the IdP (Keycloak: Clients, the client, Valid redirect URIs), or fix http.base_url.";
  if ("failed" in answer) {
    return fail(check, `authorization endpoint: ${answer.failed}`, "Check that the IdP is up.");
  }
  if (answer.status >= 300 && answer.status < 400 && answer.location !== undefined) {
    if (answer.location.startsWith(redirectUri)) {
      const error = new URL(answer.location).searchParams.get("error");
      if (error !== null) {
        return fail(
          check,
          `${redirectUri} is registered, but the IdP refused the request: ${error}`,
          "Check oidc.scopes, oidc.authorize_params and the client's settings at the IdP " +
            "(standard flow enabled, PKCE S256 allowed).",
        );
      }
    }
    return pass(check, `${redirectUri} accepted by the IdP`);
  }
  if (answer.status === 200) return pass(check, `${redirectUri} accepted by the IdP`);
  const text = answer.bodyStart.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");
  if (/client not found|invalid_client|unknown client/i.test(text)) {
    return fail(
      check,
      `the IdP does not know client_id "${clientId}" (HTTP ${answer.status})`,
      "Set oidc.client_id to the client's id at the IdP.",
    );
  }
  const why = /redirect_uri/i.test(text)
    ? "the redirect URI is not registered"
    : `the IdP refused the authorization request`;
  return fail(check, `${why} (HTTP ${answer.status})`, register);
}

/**
 * How the probe's token request went: an authorization_code grant with a made-up code, the
 * real redirect URI and the client authentication the service sends (probe/token_request.ts).
 */
export type ClientAuthOutcome =
  /** The IdP lists token_endpoint_auth_methods_supported, without oidc.client_auth_method. */
  | { kind: "unsupported"; supported: readonly string[] }
  /** The client authentication could not be built (the service would fail the same way). */
  | { kind: "not-built"; message: string }
  /** The token endpoint's answer: its status and OAuth error, never its tokens. */
  | { kind: "answered"; status: number; error: string | undefined; description: string | undefined }
  /** Unreachable, a deadline passed, 5xx or 429 (timedFetch's IdpUnreachableError). */
  | { kind: "failed"; message: string };

/**
 * Whether the IdP's list allows `method`. Without a list, RFC 8414 says client_secret_basic,
 * but IdPs omit it freely, so nothing is concluded. "none" is never refused here: Keycloak
 * serves public clients without listing it; a client that must authenticate is told by the
 * grant's answer instead.
 */
export function authMethodListed(method: string, supported: unknown): boolean {
  return method === "none" || !Array.isArray(supported) || supported.includes(method);
}

/**
 * An IdP authenticates the client before it looks the code up (RFC 6749 3.2.1, 5.2), so
 * `invalid_grant` for a made-up code means the credentials passed; `invalid_client`,
 * `unauthorized_client` (Keycloak: "Invalid client or Invalid client credentials") or a bare
 * 401 mean the first real sign-in fails at the code exchange.
 */
export function clientAuthCheck(method: string, outcome: ClientAuthOutcome): CheckResult {
  const check = "client auth";
  const credentials = "Set oidc.client_secret (oidc.private_key for private_key_jwt) to the " +
    "client's credentials and oidc.client_auth_method to its authenticator at the IdP " +
    "(Keycloak: Clients, the client, Credentials tab: Client Authenticator, Client secret); " +
    "unauthorized_client may also mean the client may not use the code flow (Keycloak: " +
    "Standard flow).";
  switch (outcome.kind) {
    case "unsupported":
      return fail(
        check,
        `oidc.client_auth_method ${method} is not among the IdP's ` +
          `token_endpoint_auth_methods_supported (${outcome.supported.join(", ")})`,
        "Set oidc.client_auth_method to a method the IdP supports, the one the client is set " +
          "up for (Keycloak: Clients, the client, Credentials tab, Client Authenticator).",
      );
    case "not-built":
      return fail(
        check,
        outcome.message,
        "The service cannot authenticate at the token endpoint either: check " +
          "oidc.client_auth_method and its client secret or private key.",
      );
    case "failed":
      return fail(check, `token endpoint: ${outcome.message}`, "Check that the IdP is up.");
    case "answered": {
      const said = `HTTP ${outcome.status}` +
        (outcome.error === undefined ? "" : ` ${outcome.error}`) +
        (outcome.description === undefined ? "" : ` (${outcome.description})`);
      if (outcome.error === "invalid_grant") {
        return pass(
          check,
          `client credentials accepted (${method}; the made-up code was refused: invalid_grant)`,
        );
      }
      if (
        outcome.error === "invalid_client" || outcome.error === "unauthorized_client" ||
        outcome.status === 401
      ) {
        return fail(
          check,
          `the token endpoint refused the client (${method}): ${said}`,
          method === "private_key_jwt"
            ? `${credentials} With private_key_jwt, ${SIGNED_JWT_REFUSAL_ADVICE}.`
            : credentials,
        );
      }
      if (outcome.status >= 200 && outcome.status < 300) {
        return fail(
          check,
          `the token endpoint granted a made-up authorization code (${said})`,
          "The IdP must refuse codes it never issued: check which server answers at its " +
            "token_endpoint.",
        );
      }
      return fail(
        check,
        `the token endpoint refused the authorization code request: ${said}`,
        "Check the client's settings at the IdP (standard flow enabled, PKCE S256 allowed) and " +
          "oidc.client_auth_method.",
      );
    }
  }
}

/** A file the service reads at start that cannot be read: the service would not start. */
export function startFileCheck(problem: { path: string; message: string }): CheckResult {
  return fail(
    problem.path,
    problem.message,
    "The service reads this file at start and does not start without it: make it readable by " +
      "the service user.",
  );
}

/**
 * A listener the service binds at start cannot be bound; `detail` says where and why. The
 * service would not start either. EADDRINUSE here is not the running service (it would hold
 * http.listen too): another program holds the port.
 */
export function listenCheck(
  detail: string,
  key: "http.listen" | "metrics.listen" = "http.listen",
  code?: string,
): CheckResult {
  return fail(
    key.replace(".", " "),
    detail,
    code === "EADDRINUSE"
      ? "The service cannot either: another program listens there (9101 is also " +
        `haproxy_exporter's default): stop it, or set ${key} to a free port.`
      : "The service cannot either: use an address of this host, and a port above 1023 or give " +
        "the service CAP_NET_BIND_SERVICE.",
  );
}

/** GET /healthz asked of http.listen itself (not through base_url) when the probe found it taken. */
export type ListenAnswer =
  /** No connection (refused, unreachable, nothing in time): who holds the port is unknown. */
  | { kind: "not-connected"; message: string }
  /** Connected, but no HTTP answer came back (closed, not HTTP, nothing in time). */
  | { kind: "no-answer"; message: string }
  | { kind: "answered"; status: number; body: string };

/** The body of the service's /healthz (http/app.ts), with status 200. */
const SERVICE_HEALTH_BODY = "ok";

/**
 * Whether the program holding http.listen is the service: it answers /healthz with 200 "ok".
 * Undefined when it could not be asked (nothing connected): then it is taken for the service,
 * as before it was asked at all.
 */
export function listenHeldByService(answer: ListenAnswer): boolean | undefined {
  if (answer.kind === "not-connected") return undefined;
  return answer.kind === "answered" && answer.status === 200 &&
    answer.body === SERVICE_HEALTH_BODY;
}

/**
 * http.listen is taken by something that does not answer /healthz as the service does: the
 * service cannot start there, and base_url (which leads there) cannot be judged.
 */
export function listenHolderCheck(listen: string, answer: ListenAnswer): CheckResult {
  const said = answer.kind === "answered"
    ? `its /healthz answered HTTP ${answer.status}`
    : `it gave no HTTP answer to /healthz (${answer.message})`;
  return fail(
    "http listen",
    `http.listen ${listen} is in use by another program: ${said}, not as openvpn-auth-oidc does`,
    "The service cannot listen there while that program does: stop it, or set http.listen to " +
      "a free port (and have base_url's reverse proxy forward to that).",
  );
}

/** How binding [metrics] listen went; `code` is the bind error's (EADDRINUSE: taken). */
export type MetricsListenOutcome =
  | { kind: "bound" }
  | { kind: "failed"; code: string | undefined; message: string };

/**
 * The service binds metrics.listen right after http.listen and does not start when it cannot.
 * Taken while http.listen is taken too: the running service holds both.
 */
export function metricsListenCheck(
  address: string,
  outcome: MetricsListenOutcome,
  serviceRunning: boolean,
): CheckResult {
  const check = "metrics listen";
  if (outcome.kind === "bound") return pass(check, `${address} can be bound`);
  if (outcome.code === "EADDRINUSE" && serviceRunning) {
    return pass(check, `${address} is in use, as http.listen is: by the running service`);
  }
  return listenCheck(outcome.message, "metrics.listen", outcome.code);
}

/** How GET <base_url>/healthz went. */
export type BaseUrlOutcome =
  /**
   * Nothing listened on http.listen: the probe served it itself. `reached`: its /healthz answer
   * came back; `path`: its answer to another path came back, the path it was asked for.
   */
  | { kind: "probe-listener"; reached: boolean; path?: string; status?: number; message?: string }
  /** http.listen was taken (the service runs): its /healthz was asked through base_url. */
  | { kind: "service"; status?: number; message?: string };

export function baseUrlCheck(
  healthUrl: string,
  listen: string,
  outcome: BaseUrlOutcome,
): CheckResult {
  const check = "base url";
  if (outcome.kind === "probe-listener" && outcome.reached) {
    return pass(check, `${healthUrl} reaches http.listen ${listen}`);
  }
  if (outcome.kind === "service" && outcome.status === 200) {
    return pass(check, `${healthUrl} answers (the running service on ${listen})`);
  }
  const basePath = new URL(healthUrl).pathname.slice(0, -HEALTH_PATH.length);
  // The service serves every page at the root of http.listen (/login/<id>, /oauth2/callback),
  // and login links and the redirect URI carry base_url's path: a proxy must take it off.
  const atRoot = `The service serves its pages at the root of http.listen (${listen}): a path in ` +
    "http.base_url works only behind a reverse proxy that takes it off before forwarding";
  if (outcome.kind === "probe-listener" && outcome.path !== undefined) {
    const unchanged = basePath !== "" && outcome.path === new URL(healthUrl).pathname;
    return fail(
      check,
      unchanged
        ? `${healthUrl} reached http.listen ${listen} with base_url's path ${basePath} still ` +
          `on it (as ${outcome.path}, HTTP ${outcome.status})`
        : `${healthUrl} reached http.listen ${listen} as ${outcome.path}, not ${HEALTH_PATH} ` +
          `(HTTP ${outcome.status})`,
      unchanged
        ? `${atRoot}: have the proxy strip ${basePath}, or set http.base_url without the path ` +
          "(and register the redirect URI without it)."
        : "Forward the paths below http.base_url to http.listen unchanged, at its root.",
    );
  }
  const got = outcome.status !== undefined
    ? `HTTP ${outcome.status}${outcome.kind === "probe-listener" ? " from something else" : ""}`
    : outcome.message ?? "no answer";
  const pathHint = basePath !== "" && outcome.kind === "service" && outcome.status === 404
    ? ` ${atRoot}: ${basePath} must be taken off.`
    : "";
  return fail(
    check,
    `${healthUrl}: ${got}`,
    `Browsers must reach http.listen (${listen}) at http.base_url: check DNS, the firewall and ` +
      "the reverse proxy's forwarding (and its TLS certificate)." + pathHint,
  );
}

/**
 * base_url on a loopback host passes every check from this host, and a VPN user's browser opens
 * its own machine: fine for a demo or a test on one host, so a warning, not a failure.
 */
export function baseUrlReachCheck(baseUrl: URL): CheckResult | undefined {
  if (!isLoopbackHost(baseUrl.hostname)) return undefined;
  return warn(
    "base url host",
    `${baseUrl.hostname} is a loopback address: only browsers on this host can reach ` +
      "http.base_url, and a VPN user's browser would open its own machine",
    "Set http.base_url to the address users' browsers reach (https://vpn.example.com), served " +
      "by a TLS reverse proxy forwarding to http.listen, or by the built-in TLS.",
  );
}

/**
 * One line per check: `ok  `, `warn` or `FAIL`, the check, the detail and, for failures and
 * warnings, the fix. Details and fixes quote what the IdP, OpenVPN and the network sent (an
 * issuer, a key's `alg`, a redirect's URL-decoded `error`), so every part is made printable: a
 * hostile answer must not drive the admin's terminal or forge an `ok` line.
 */
export function formatResults(results: readonly CheckResult[]): string {
  const shown = results.map((result) => ({
    ...result,
    check: printable(result.check),
    detail: printable(result.detail),
    fix: result.fix === undefined ? undefined : printable(result.fix),
  }));
  const width = Math.max(...shown.map((result) => result.check.length));
  return shown.map((result) => {
    const status = !result.ok ? "FAIL" : result.warning ? "warn" : "ok  ";
    const head = `${status}  ${result.check.padEnd(width)}  ${result.detail}`;
    return result.fix === undefined ? head : `${head}. Fix: ${result.fix}`;
  }).join("\n") + "\n";
}
