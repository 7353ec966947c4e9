/**
 * Response headers for every HTTP response: a strict Content-Security-Policy (no scripts, no
 * external resources, no framing), no caching (pages carry one-time links and user data), no
 * referrer (URLs carry state), and HSTS when the public base URL is https.
 */
import type { MiddlewareHandler } from "hono";
import { PAGE_STYLE_SOURCE } from "./pages/style.ts";

export interface SecurityHeadersOptions {
  /** Whether the public base URL is https: only then is Strict-Transport-Security sent. */
  https: boolean;
  /**
   * Origins the confirm form's submission may end up at, besides our own: at least the IdP's
   * origin. Chromium and Safari apply `form-action` to every redirect that follows a form
   * submission, and our POST answers with a redirect to the IdP's authorization endpoint
   * (which may redirect straight back to us when the user is already signed in: `'self'`
   * covers that). If the IdP sends the user on to yet another origin (Keycloak identity
   * brokering, a separate login host), that origin must be listed too. Each entry is reduced
   * to its origin; anything that is not an http(s) URL is refused. A function is asked at
   * each response: the authorization endpoint's origin is known only after discovery.
   */
  formActionOrigins: readonly string[] | (() => readonly string[]);
  /** CSP sources for inline styles (`Pages.styleSources`); the built-in style by default. */
  styleSources?: readonly string[];
}

const HSTS = "max-age=31536000";
const STYLE_SOURCE = /^'sha(256|384|512)-[A-Za-z0-9+/]+={0,2}'$/;

/**
 * Builds the middleware. Options are checked and the header values computed once, here.
 *
 * @throws {TypeError} for a form-action origin that is not an http(s) URL or a malformed
 *   style source
 */
export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler {
  const styleSources = options.styleSources ?? [PAGE_STYLE_SOURCE];
  for (const source of styleSources) {
    if (!STYLE_SOURCE.test(source)) throw new TypeError(`Invalid CSP style source: ${source}`);
  }
  const cspFor = (origins: readonly string[]) =>
    [
      "default-src 'none'",
      `style-src ${styleSources.length === 0 ? "'none'" : [...new Set(styleSources)].join(" ")}`,
      "img-src data:",
      `form-action ${[...new Set(["'self'", ...origins.map(formActionOrigin)])].join(" ")}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; ");
  const originsNow = typeof options.formActionOrigins === "function"
    ? options.formActionOrigins
    : () => options.formActionOrigins as readonly string[];
  // Recomputed only when the origins change (discovery finished), not per response.
  let cached = { origins: originsNow(), csp: cspFor(originsNow()) };
  const csp = () => {
    const origins = originsNow();
    if (origins !== cached.origins) cached = { origins, csp: cspFor(origins) };
    return cached.csp;
  };
  const headers: Array<[string, string]> = [
    ["Cache-Control", "no-store"],
    ["Pragma", "no-cache"],
    ["Referrer-Policy", "no-referrer"],
    ["X-Content-Type-Options", "nosniff"],
    ["X-Frame-Options", "DENY"],
    ["Cross-Origin-Opener-Policy", "same-origin"],
  ];
  if (options.https) headers.push(["Strict-Transport-Security", HSTS]);

  return async function securityHeaders(c, next) {
    await next();
    const all: Array<[string, string]> = [["Content-Security-Policy", csp()], ...headers];
    let target = c.res.headers;
    try {
      for (const [name, value] of all) target.set(name, value);
    } catch {
      // Responses such as `Response.redirect()` have immutable headers: copy, then set.
      c.res = new Response(c.res.body, c.res);
      target = c.res.headers;
      for (const [name, value] of all) target.set(name, value);
    }
  };
}

/**
 * The origin a form-action entry allows; config validation (`http.form_action_origins`) calls
 * this too.
 *
 * @throws {TypeError} for anything that is not an http(s) URL
 */
export function formActionOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`Invalid form-action origin: ${value}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`Invalid form-action origin, not http(s): ${value}`);
  }
  return url.origin;
}
