/**
 * A browser-less login against the test IdP: follows redirects by hand, keeps cookies, fills in
 * the login form, and stops at the redirect back to the client (the callback URL carrying `code`
 * and `state`, or `error`). Integration tests and benchmarks use it where a browser is overkill.
 */

/** A minimal cookie jar for one host: names to values (paths and domains are not needed here). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  /** The `Cookie` request header value, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = "", v = ""] = a.split("=");
        const k = key.trim().toLowerCase();
        return (k === "max-age" && Number(v) <= 0) ||
          (k === "expires" && Date.parse(v) <= Date.now());
      });
      if (expired || value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get size(): number {
    return this.#cookies.size;
  }
}

/** The IdP showed its login form again with an error (wrong password, disabled account). */
export class LoginFormError extends Error {
  constructor(readonly formError: string) {
    super(`Login form rejected the credentials: ${formError}`);
    this.name = "LoginFormError";
  }
}

export interface HttpLoginOptions {
  username: string;
  password: string;
  /** Stop at the first redirect to this URI; default: the first redirect that leaves the IdP. */
  redirectUri?: string;
  /** Press "Cancel" on the login form instead of signing in (ends in `error=access_denied`). */
  cancel?: boolean;
  /** Reuse a jar to keep an SSO session between logins; a fresh jar by default. */
  cookies?: CookieJar;
  fetch?: typeof fetch;
  /** Upper bound on requests, against redirect loops; default 12. */
  maxSteps?: number;
}

function attribute(tag: string, name: string): string | undefined {
  const match = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return match?.[1] === undefined ? undefined : decodeEntities(match[1]);
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function loginFormAction(html: string): string | undefined {
  const form = html.match(/<form\b[^>]*\bid="kc-form-login"[^>]*>/);
  return form === null ? undefined : attribute(form[0], "action");
}

function formErrorText(html: string): string {
  const match = html.match(/<div id="input-error"[^>]*>([^<]*)<\/div>/);
  return match?.[1] === undefined ? "no error shown" : decodeEntities(match[1]);
}

/**
 * Runs a login from `authorizationUrl` and returns the redirect URL to the client (with `code`
 * and `state`, or `error` and `error_description`). Throws LoginFormError when the form is shown
 * again after submitting it.
 */
export async function loginOverHttp(
  authorizationUrl: URL | string,
  options: HttpLoginOptions,
): Promise<URL> {
  const doFetch = options.fetch ?? fetch;
  const jar = options.cookies ?? new CookieJar();
  const start = new URL(authorizationUrl);
  const idpPrefix = start.origin + start.pathname.slice(0, start.pathname.lastIndexOf("/") + 1);
  const leavesIdp = (url: URL) =>
    options.redirectUri === undefined
      ? !url.href.startsWith(idpPrefix)
      : url.origin + url.pathname === new URL(options.redirectUri).origin +
          new URL(options.redirectUri).pathname;

  let url = start;
  let init: { method: string; body?: URLSearchParams } = { method: "GET" };
  let submitted = false;
  for (let step = 0; step < (options.maxSteps ?? 12); step++) {
    const headers = new Headers();
    const cookie = jar.header();
    if (cookie !== undefined) headers.set("cookie", cookie);
    const response = await doFetch(url, { ...init, headers, redirect: "manual" });
    jar.store(response);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (leavesIdp(next)) return next;
      url = next;
      init = { method: "GET" };
      continue;
    }
    const html = await response.text();
    const action = response.status === 200 ? loginFormAction(html) : undefined;
    if (action === undefined) {
      throw new Error(`Unexpected IdP response: HTTP ${response.status} at ${url.pathname}`);
    }
    if (submitted) throw new LoginFormError(formErrorText(html));
    submitted = true;
    const body = new URLSearchParams();
    if (options.cancel === true) {
      body.set("cancel", "cancel");
    } else {
      body.set("username", options.username);
      body.set("password", options.password);
      body.set("login", "login");
    }
    url = new URL(action, url);
    init = { method: "POST", body };
  }
  throw new Error(`Login did not finish within ${options.maxSteps ?? 12} requests`);
}
