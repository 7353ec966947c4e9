/**
 * Plays a browser against the bridge over plain HTTP: opens the login link, continues on the
 * confirmation page (cookie and CSRF token), signs in at the test IdP, and follows the callback.
 * Used by the integration tests and the full-login benchmark.
 */
import { CookieJar, loginOverHttp } from "./idp/mod.ts";

export interface BridgeLoginResult {
  status: number;
  text: string;
  callback: URL;
}

export async function bridgeLoginOverHttp(
  loginUrl: string,
  baseUrl: string,
  username: string,
  password: string,
  options: {
    cancel?: boolean;
    acceptLanguage?: string;
    /** Runs once the IdP has redirected, before the browser follows it back to the bridge. */
    beforeCallback?: () => Promise<void>;
    /** The browser's fetch at the IdP (one trusting a private CA); default fetch. */
    idpFetch?: typeof fetch;
  } = {},
): Promise<BridgeLoginResult> {
  const bridgeCookies = new CookieJar();
  const language: Record<string, string> = options.acceptLanguage
    ? { "accept-language": options.acceptLanguage }
    : {};
  const page = await fetch(loginUrl, { headers: language });
  bridgeCookies.store(page);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const confirm = await fetch(loginUrl, {
    method: "POST",
    headers: {
      ...language,
      cookie: bridgeCookies.header() ?? "",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf }),
    redirect: "manual",
  });
  await confirm.body?.cancel();
  const authUrl = confirm.headers.get("location");
  if (confirm.status !== 303 || !authUrl) throw new Error(`Confirm answered ${confirm.status}`);
  const callback = await loginOverHttp(authUrl, {
    username,
    password,
    redirectUri: `${baseUrl}/oauth2/callback`,
    ...(options.cancel ? { cancel: true } : {}),
    ...(options.idpFetch ? { fetch: options.idpFetch } : {}),
  });
  await options.beforeCallback?.();
  const final = await fetch(callback, {
    headers: { ...language, cookie: bridgeCookies.header() ?? "" },
    redirect: "manual",
  });
  return { status: final.status, text: await final.text(), callback };
}
