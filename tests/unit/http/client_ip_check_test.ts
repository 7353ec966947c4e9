/**
 * README, Security notes: "The browser's address comes from the socket, or from
 * `X-Forwarded-For` only when the peer is in `http.trusted_proxies`. `http.check_client_ip =
 * true` requires the browser to come from the VPN client's public address."
 *
 * The app is built as in app_test.ts, with check_client_ip on and 10.0.0.0/8 trusted; the
 * browser confirms its sign-in (GET the page, POST the form) and the answer shows which
 * address the bridge took for the browser's: 303 to the IdP when it is the VPN client's, 403
 * (the "same network" page) when it is not.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { getLogger } from "../../../src/log.ts";
import { createApp } from "../../../src/http/app.ts";
import { LoginFlow } from "../../../src/bridge/login_flow.ts";
import { builtinLocalizedPages } from "../../../src/http/pages/mod.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { LoginExpectation, LoginResult } from "../../../src/oidc/client.ts";
import { type RecordedCommand, RecordingCommander } from "../../support/recording_commander.ts";
import {
  TEST_POLICY,
  testAdmission,
  testPendingLogin,
} from "../../support/client_events_fixture.ts";

const T0 = 1_800_000_000_000;
const ID = "AAAAAAAAAAAAAAAAAAAAAA";
/** The VPN client's public address, as OpenVPN told it in the CONNECT. */
const VPN_CLIENT_IP = "203.0.113.9";
/** Somewhere else on the internet. */
const OTHER_IP = "198.51.100.77";
/** A reverse proxy inside `http.trusted_proxies`. */
const PROXY_IP = "10.1.2.3";
const TRUSTED_PROXIES = ["10.0.0.0/8"];

async function setup() {
  const now = () => T0;
  const store = new MemoryStore({ maxEntries: 100, now });
  const commander = new RecordingCommander();
  let counter = 0;
  const oidc = {
    startLogin: (_tag?: string) => {
      counter++;
      return Promise.resolve({
        url: new URL(`https://idp.example/realms/vpn/auth?state=state-${counter}`),
        state: `state-${counter}`,
        nonce: `nonce-${counter}`,
        codeVerifier: `verifier-${counter}`,
      });
    },
    finishLogin: (_url: URL, _expected: LoginExpectation): Promise<LoginResult> =>
      Promise.resolve({
        claims: { sub: "u-alice", preferred_username: "alice", groups: ["/vpn-users"] },
        subject: "u-alice",
        sid: "sso-1",
        refreshToken: "refresh-1",
        refreshExpiresAt: undefined,
        idToken: "id-token",
      }),
  };
  const log = getLogger("test");
  const { admission } = testAdmission({ store, now, policy: TEST_POLICY });
  const flow = new LoginFlow({
    store,
    oidc,
    commanders: (server) => (server === "default" ? commander : undefined),
    admission,
    checkClientIp: true,
    now,
    log,
  });
  let tokens = 0;
  const app = createApp({
    flow,
    pages: builtinLocalizedPages,
    defaultLanguage: "en",
    baseUrl: new URL("http://127.0.0.1:9000"),
    secret: new Secret("0123456789abcdef0123456789abcdef"),
    confirmLogin: true,
    trustedProxies: TRUSTED_PROXIES,
    formActionOrigins: ["https://idp.example"],
    now,
    randomToken: () => `binding-${++tokens}`,
    readiness: () => ({ management: true, servers: { default: true }, idp: true }),
    log,
  });
  await store.putPending(
    testPendingLogin({
      id: ID,
      commonName: "alice-laptop",
      sessionId: "sess-xyz",
      clientIp: VPN_CLIENT_IP,
      createdAt: T0,
      expiresAt: T0 + 180_000,
    }),
  );
  return { app, commander };
}

function cookieOf(response: Response): string {
  return (response.headers.getSetCookie()[0] ?? "").split(";")[0]!;
}

/**
 * The browser at socket peer `peer` opens its link and presses Continue, each request
 * carrying `forwardedFor` as X-Forwarded-For when given; the answer to the POST.
 */
async function confirmFrom(
  peer: string,
  forwardedFor?: string,
  ctx?: Awaited<ReturnType<typeof setup>>,
): Promise<Response> {
  const { app } = ctx ?? await setup();
  const headers: Record<string, string> = forwardedFor === undefined
    ? {}
    : { "x-forwarded-for": forwardedFor };
  const page = await app.request(`/login/${ID}`, { headers }, { remoteAddr: peer });
  assertEquals(page.status, 200, "the confirmation page is shown whatever the address");
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  return await app.request(`/login/${ID}`, {
    method: "POST",
    headers: {
      ...headers,
      cookie: cookieOf(page),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf }),
  }, { remoteAddr: peer });
}

/** Headers of a request that may carry X-Forwarded-For. */
function forwarded(forwardedFor: string | undefined, cookie: string): Record<string, string> {
  return forwardedFor === undefined ? { cookie } : { cookie, "x-forwarded-for": forwardedFor };
}

/**
 * A sign-in begun through the trusted proxy for the VPN client's address, then the IdP's
 * callback from `peer` with `forwardedFor`: the callback's answer and what OpenVPN was told.
 */
async function callbackFrom(peer: string, forwardedFor?: string) {
  const ctx = await setup();
  const begun = await confirmFrom(PROXY_IP, VPN_CLIENT_IP, ctx);
  assertEquals(begun.status, 303);
  const cookie = `oao-${ID}=binding-1`;
  const response = await ctx.app.request("/oauth2/callback?code=abc&state=state-1", {
    headers: forwarded(forwardedFor, cookie),
  }, { remoteAddr: peer });
  return { response, commands: ctx.commander.commands };
}

/** What OpenVPN was told: a deny's reason for its log, or the command's kind. */
function denials(commands: readonly RecordedCommand[]): string[] {
  return commands.map((command) => command.kind === "deny" ? command.reason : command.kind);
}

async function assertRefused(response: Response): Promise<void> {
  assertEquals(response.status, 403);
  assertEquals(response.headers.get("location"), null);
  assertStringIncludes(await response.text(), "same network");
}

Deno.test("check_client_ip: an untrusted peer's X-Forwarded-For naming the VPN client's address is not believed", async () => {
  await assertRefused(await confirmFrom(OTHER_IP, VPN_CLIENT_IP));
});

Deno.test("check_client_ip: an untrusted peer cannot pass as a trusted proxy by listing one in X-Forwarded-For", async () => {
  await assertRefused(await confirmFrom(OTHER_IP, `${VPN_CLIENT_IP}, ${PROXY_IP}`));
});

Deno.test("check_client_ip: a trusted proxy forwarding the VPN client's address goes on to the IdP", async () => {
  const response = await confirmFrom(PROXY_IP, VPN_CLIENT_IP);
  assertEquals(response.status, 303);
  assertStringIncludes(response.headers.get("location") ?? "", "https://idp.example/");
});

Deno.test("check_client_ip: a trusted proxy forwarding another address is refused", async () => {
  await assertRefused(await confirmFrom(PROXY_IP, OTHER_IP));
});

Deno.test("check_client_ip: behind a trusted proxy, a VPN client address the browser put left of the real one is not believed", async () => {
  // The proxy appends the address it saw (OTHER_IP); what the browser sent before it is its own.
  await assertRefused(await confirmFrom(PROXY_IP, `${VPN_CLIENT_IP}, ${OTHER_IP}`));
});

Deno.test("check_client_ip: a trusted proxy that forwards no address is the browser itself, and refused", async () => {
  await assertRefused(await confirmFrom(PROXY_IP));
});

Deno.test("check_client_ip: the VPN client's own address, straight from the socket, goes on to the IdP", async () => {
  const response = await confirmFrom(VPN_CLIENT_IP);
  assertEquals(response.status, 303);
});

Deno.test("check_client_ip: at the callback, an untrusted peer's X-Forwarded-For naming the VPN client's address is not believed", async () => {
  const { response, commands } = await callbackFrom(OTHER_IP, VPN_CLIENT_IP);
  assertEquals(response.status, 403);
  assertEquals(denials(commands), ["browser ip mismatch"]);
});

Deno.test("check_client_ip: at the callback, a trusted proxy forwarding another address is refused", async () => {
  const { response, commands } = await callbackFrom(PROXY_IP, OTHER_IP);
  assertEquals(response.status, 403);
  assertEquals(denials(commands), ["browser ip mismatch"]);
});

Deno.test("check_client_ip: at the callback, a trusted proxy forwarding the VPN client's address signs the client in", async () => {
  const { response, commands } = await callbackFrom(PROXY_IP, VPN_CLIENT_IP);
  assertEquals(response.status, 200);
  assertEquals(denials(commands), ["auth"]);
});
