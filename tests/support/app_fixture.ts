/**
 * The sign-in pages' app (createApp) over a real LoginFlow, Admission and memory store, with a
 * stand-in IdP and a recording OpenVPN side, and one pending login stored: what app_test.ts and
 * client_ip_check_test.ts drive with requests.
 */
import { assert, assertEquals } from "./assert.ts";
import { getLogger } from "../../src/log.ts";
import { createApp } from "../../src/http/app.ts";
import { trustedProxies } from "../../src/http/client_ip.ts";
import { LoginFlow, stateTag } from "../../src/bridge/login_flow.ts";
import { builtinLocalizedPages } from "../../src/http/pages/mod.ts";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { Secret } from "../../src/config/secret.ts";
import type { LoginExpectation, LoginResult } from "../../src/oidc/client.ts";
import { OidcError } from "../../src/oidc/errors.ts";
import type { PendingLogin } from "../../src/sessions/types.ts";
import { RecordingCommander } from "./recording_commander.ts";
import type { Language } from "../../src/config/languages.ts";
import { TEST_POLICY, testAdmission, testPendingLogin } from "./client_events_fixture.ts";

export const T0 = 1_800_000_000_000;
export const ID = "AAAAAAAAAAAAAAAAAAAAAA";
/** The test's pending login, stored without a run (as by a link that did not tell one). */
export const SIGN_IN = { loginId: ID, openvpnRun: undefined };
export const PEER = { remoteAddr: "198.51.100.7" };
/** The state of the first sign-in an appSetup begins, that of login ID. */
export const STATE_1 = `${stateTag(ID)}.state-1`;

export interface AppOptions {
  baseUrl?: string;
  confirmLogin?: boolean;
  checkClientIp?: boolean;
  /** `http.trusted_proxies` (default none). */
  trustedProxies?: readonly string[];
  /** What the stored pending login differs in (its client's address, say). */
  stored?: Partial<PendingLogin>;
  claims?: Record<string, unknown>;
  finishError?: Error;
  defaultLanguage?: Language;
  /** Runs while the login request is prepared (before startLogin answers). */
  duringStartLogin?: (store: MemoryStore) => Promise<unknown>;
}

export async function appSetup(options: AppOptions = {}) {
  const clock = { time: T0 };
  const now = () => clock.time;
  const store = new MemoryStore({ maxEntries: 100, now });
  const commander = new RecordingCommander();
  let counter = 0;
  const finishCalls: Array<{ url: URL; expected: LoginExpectation }> = [];
  const oidc = {
    startLogin: async (tag: string) => {
      counter++;
      // Tagged as the real OIDC client does (LoginFlow always gives the tag).
      const state = `${tag}.state-${counter}`;
      await options.duringStartLogin?.(store);
      return await Promise.resolve({
        url: new URL(`https://idp.example/realms/vpn/auth?state=${state}`),
        state,
        nonce: `nonce-${counter}`,
        codeVerifier: `verifier-${counter}`,
      });
    },
    finishLogin: (url: URL, expected: LoginExpectation): Promise<LoginResult> => {
      finishCalls.push({ url, expected });
      if (options.finishError) return Promise.reject(options.finishError);
      // As oauth4webapi checks it.
      if (url.searchParams.get("state") !== expected.state) {
        return Promise.reject(new OidcError("invalid_state", "state does not match"));
      }
      return Promise.resolve({
        claims: options.claims ??
          {
            sub: "u-alice",
            preferred_username: "alice",
            groups: ["/vpn-users"],
            email: "a@example.com",
          },
        subject: "u-alice",
        sid: "sso-1",
        refreshToken: "refresh-1",
        refreshExpiresAt: undefined,
        idToken: "id-token",
      });
    },
  };
  const policy = {
    ...TEST_POLICY,
    clientConfig: [{ groups: ["/vpn-users"], lines: ['push "route 10.10.0.0 255.255.0.0"'] }],
  };
  const log = getLogger("test");
  const { admission } = testAdmission({ store, now, policy });
  const flow = new LoginFlow({
    store,
    oidc,
    commanders: (server) => (server === "default" ? commander : undefined),
    admission,
    checkClientIp: options.checkClientIp ?? false,
    isTrustedProxy: trustedProxies(options.trustedProxies ?? []),
    now,
    log,
  });
  let tokens = 0;
  const app = createApp({
    flow,
    pages: builtinLocalizedPages,
    defaultLanguage: options.defaultLanguage ?? "en",
    baseUrl: new URL(options.baseUrl ?? "http://127.0.0.1:9000"),
    secret: new Secret("0123456789abcdef0123456789abcdef"),
    confirmLogin: options.confirmLogin ?? true,
    trustedProxies: options.trustedProxies ?? [],
    formActionOrigins: ["https://idp.example"],
    now,
    randomToken: () => `binding-${++tokens}`,
    readiness: () => ({ management: true, servers: { default: true }, idp: false }),
    log,
  });
  const pending = (overrides: Partial<PendingLogin> = {}): PendingLogin =>
    testPendingLogin({ id: ID, commonName: "alice-laptop", sessionId: "sess-xyz", ...overrides });
  await store.putPending(pending(options.stored));
  const request = (path: string, init: RequestInit = {}) => app.request(path, init, PEER);
  return { app, flow, admission, store, commander, clock, request, finishCalls, pending };
}

export function cookieOf(response: Response): string {
  const header = response.headers.getSetCookie()[0] ?? "";
  return header.split(";")[0]!;
}

/**
 * With confirm_login = false, opens the link as a browser does: the first answer sets the
 * cookie and refreshes to the link again, which begins the sign-in.
 */
export async function openWithoutConfirm(ctx: Awaited<ReturnType<typeof appSetup>>) {
  const page = await ctx.request(`/login/${ID}`);
  assertEquals(page.status, 200);
  const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(await page.text());
  assert(refresh !== null, "no refresh on the page that sets the cookie");
  const cookie = cookieOf(page);
  const response = await ctx.request(new URL(refresh[1]!).pathname + new URL(refresh[1]!).search, {
    headers: { cookie },
  });
  return { response, cookie };
}
