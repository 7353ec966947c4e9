/**
 * The reference relying party for B3: the smallest correct program on the bridge's runtime
 * (Deno, or Bun beside the released binary; oauth4webapi) doing the HTTP exchanges of a bridge
 * login, with nothing else (no management interface, no policy, no store, no templates): a
 * login page with a CSRF token in a cookie-bound form, a redirect to the IdP with state, nonce
 * and PKCE (S256), and a callback that checks the state, exchanges the code
 * (client_secret_basic), checks the ID token's claims and nonce and verifies its signature
 * against the IdP's keys. The driver plays the same browser against it
 * as against the bridge (tests/support/bridge_browser.ts).
 *
 *   deno run -A bench/lib/reference_rp.ts ISSUER PORT CLIENT_SECRET
 *   bun bench/lib/reference_rp.ts ISSUER PORT CLIENT_SECRET
 */
import * as oauth from "oauth4webapi";
import { timingSafeEqual } from "node:crypto";
import process from "node:process";

const [issuerText = "", portText = "0", clientSecret = ""] = process.argv.slice(2);
const issuer = new URL(issuerText);
const port = Number(portText);
const redirectUri = `http://127.0.0.1:${port}/oauth2/callback`;
const insecure = { [oauth.allowInsecureRequests]: true };
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, insecure),
);
const client: oauth.Client = { client_id: "openvpn" };
const clientAuth = oauth.ClientSecretBasic(clientSecret);

interface Login {
  id: string;
  csrf: string;
  state?: string;
  nonce?: string;
  verifier?: string;
}
/** Keyed by the browser's cookie; a real RP would expire these, the bench logs in once each. */
const logins = new Map<string, Login>();

function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: Request): Login | undefined {
  const id = /(?:^|;\s*)rp=([A-Za-z0-9_-]+)/.exec(req.headers.get("cookie") ?? "")?.[1];
  return id === undefined ? undefined : logins.get(id);
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname.startsWith("/login/") && req.method === "GET") {
    const id = oauth.generateRandomState();
    const csrf = oauth.generateRandomState();
    logins.set(id, { id, csrf });
    return new Response(
      `<!doctype html><form method="post"><input type="hidden" name="csrf" value="${csrf}">` +
        `<button>Sign in</button></form>`,
      {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "set-cookie": `rp=${id}; HttpOnly; SameSite=Lax; Path=/`,
        },
      },
    );
  }
  if (url.pathname.startsWith("/login/") && req.method === "POST") {
    const login = cookieOf(req);
    const form = await req.formData();
    if (!login || !sameText(String(form.get("csrf") ?? ""), login.csrf)) {
      return new Response("forbidden", { status: 403 });
    }
    login.state = oauth.generateRandomState();
    login.nonce = oauth.generateRandomNonce();
    login.verifier = oauth.generateRandomCodeVerifier();
    const target = new URL(as.authorization_endpoint!);
    target.searchParams.set("client_id", client.client_id);
    target.searchParams.set("redirect_uri", redirectUri);
    target.searchParams.set("response_type", "code");
    target.searchParams.set("scope", "openid profile email");
    target.searchParams.set("state", login.state);
    target.searchParams.set("nonce", login.nonce);
    target.searchParams.set(
      "code_challenge",
      await oauth.calculatePKCECodeChallenge(login.verifier),
    );
    target.searchParams.set("code_challenge_method", "S256");
    return new Response(null, { status: 303, headers: { location: target.href } });
  }
  if (url.pathname === "/oauth2/callback" && req.method === "GET") {
    const login = cookieOf(req);
    if (!login?.state || !login.verifier || !login.nonce) {
      return new Response("no login", { status: 400 });
    }
    try {
      const params = oauth.validateAuthResponse(as, client, url, login.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        redirectUri,
        login.verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: login.nonce,
        requireIdToken: true,
      });
      await oauth.validateApplicationLevelSignature(as, response, insecure);
      const claims = oauth.getValidatedIdTokenClaims(tokens)!;
      return new Response(`signed in: ${claims.sub}`, {
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    } catch {
      return new Response("login failed", { status: 400 });
    } finally {
      logins.delete(login.id);
    }
  }
  return new Response("not found", { status: 404 });
}

interface BunServe {
  serve(options: { hostname: string; port: number; fetch: typeof handle }): unknown;
}
const bun = (globalThis as { Bun?: BunServe }).Bun;
if (bun) {
  // B3 of the released binary: the reference on the binary's runtime.
  bun.serve({ hostname: "127.0.0.1", port, fetch: handle });
  console.log("ready");
} else {
  Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log("ready") }, handle);
}
// Stopped by the bench with SIGTERM: exiting on it lets `--cpu-prof` write the RP's profile.
process.on("SIGTERM", () => process.exit(0));
