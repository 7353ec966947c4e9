/**
 * `check-config --probe`: what each answer from OpenVPN, the IdP and base_url means, and what
 * the admin should do about a failure. Pure: probe.ts does the I/O and hands the outcomes here.
 */
import { printable } from "../printable_text.ts";

export interface CheckResult {
  /** Short name of what was checked, e.g. `management default`, `discovery`. */
  readonly check: string;
  readonly ok: boolean;
  /** What was found (ok) or what went wrong (failure). No secrets; raw (formatResults escapes). */
  readonly detail: string;
  /** What to change, for failures. Raw, like `detail`. */
  readonly fix?: string;
}

function pass(check: string, detail: string): CheckResult {
  return { check, ok: true, detail };
}

function fail(check: string, detail: string, fix: string): CheckResult {
  return { check, ok: false, detail, fix };
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
  /** Something already listens on http.listen (the service is probably running). */
  readonly serviceRunning: boolean;
}

export function managementCheck(target: ManagementTarget, outcome: ManagementOutcome): CheckResult {
  const check = `management ${target.server}`;
  if (outcome.kind === "connected") {
    const line = outcome.versionLines.find((text) => text.startsWith("OpenVPN Version:"));
    const openvpn = line === undefined
      ? "OpenVPN"
      : line.slice("OpenVPN Version:".length).trim().split(" ").slice(0, 2).join(" ");
    return pass(
      check,
      `${target.address}: ${openvpn}, management version ${outcome.managementVersion}` +
        (target.hasPassword ? ", password accepted" : ""),
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
        return fail(
          check,
          detail,
          "No socket there: start OpenVPN with 'management <path> unix' and " +
            "'management-client-auth', and set openvpn.management to the same path.",
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

/** How fetching the discovery document ended. */
export type DiscoveryOutcome =
  | { kind: "ok"; issuer: string; authorizationEndpoint: string | undefined; jwksUri?: string }
  | { kind: "http-status"; status: number }
  | { kind: "issuer-mismatch"; actual: string | undefined }
  | { kind: "unreachable" | "invalid"; message: string };

export function discoveryCheck(issuer: string, outcome: DiscoveryOutcome): CheckResult {
  const check = "idp discovery";
  const where = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  switch (outcome.kind) {
    case "ok":
      if (outcome.authorizationEndpoint === undefined || outcome.jwksUri === undefined) {
        return fail(
          check,
          `${where} lacks authorization_endpoint or jwks_uri`,
          "oidc.issuer must name an OpenID Connect provider (Keycloak: https://<host>/realms/<realm>).",
        );
      }
      return pass(check, `${where}: issuer ${outcome.issuer}`);
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
          : `Set oidc.issuer = "${outcome.actual}" (tokens carry that issuer).`,
      );
    case "unreachable":
      return fail(
        check,
        `${where}: ${outcome.message}`,
        "Check the host name, port, firewall and proxy between this host and the IdP, and " +
          "that the IdP is running.",
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
 * http.listen cannot be served (not taken: refused); `detail` says where and why. The service
 * would not start either.
 */
export function listenCheck(detail: string): CheckResult {
  return fail(
    "http listen",
    detail,
    "The service cannot either: use an address of this host, and a port above 1023 or give the " +
      "service CAP_NET_BIND_SERVICE.",
  );
}

/** How GET <base_url>/healthz went. */
export type BaseUrlOutcome =
  /** Nothing listened on http.listen: the probe served /healthz there itself. */
  | { kind: "probe-listener"; reached: boolean; status?: number; message?: string }
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
  const got = outcome.status !== undefined
    ? `HTTP ${outcome.status}${outcome.kind === "probe-listener" ? " from something else" : ""}`
    : outcome.message ?? "no answer";
  return fail(
    check,
    `${healthUrl}: ${got}`,
    `Browsers must reach http.listen (${listen}) at http.base_url: check DNS, the firewall and ` +
      "the reverse proxy's forwarding (and its TLS certificate).",
  );
}

/**
 * One line per check: `ok  ` or `FAIL`, the check, the detail and, for failures, the fix. Details
 * and fixes quote what the IdP, OpenVPN and the network sent (an issuer, a key's `alg`, a
 * redirect's URL-decoded `error`), so every part is made printable: a hostile answer must not
 * drive the admin's terminal or forge an `ok` line.
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
    const head = `${result.ok ? "ok  " : "FAIL"}  ${result.check.padEnd(width)}  ${result.detail}`;
    return result.fix === undefined ? head : `${head}. Fix: ${result.fix}`;
  }).join("\n") + "\n";
}
