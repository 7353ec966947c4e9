/**
 * README, Security notes: "The browser's address comes from the socket, or from
 * `X-Forwarded-For` only when the peer is in `http.trusted_proxies`. `http.check_client_ip =
 * true` requires the browser to come from the VPN client's public address."
 *
 * The app is built as in app_test.ts (tests/support/app_fixture.ts), with check_client_ip on and 10.0.0.0/8 trusted; the
 * browser confirms its sign-in (GET the page, POST the form) and the answer shows which
 * address the bridge took for the browser's: 303 to the IdP when it is the VPN client's, 403
 * (the "same network" page) when it is not.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import type { RecordedCommand } from "../../support/recording_commander.ts";
import { appSetup, cookieOf, ID, STATE_1, T0 } from "../../support/app_fixture.ts";
import { captureLogs } from "../../support/log_capture.ts";

/** The VPN client's public address, as OpenVPN told it in the CONNECT. */
const VPN_CLIENT_IP = "203.0.113.9";
/** Somewhere else on the internet. */
const OTHER_IP = "198.51.100.77";
/** A reverse proxy inside `http.trusted_proxies`. */
const PROXY_IP = "10.1.2.3";

function setup() {
  return appSetup({
    checkClientIp: true,
    trustedProxies: ["10.0.0.0/8"],
    stored: { clientIp: VPN_CLIENT_IP },
  });
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
  const response = await ctx.app.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: forwarded(forwardedFor, cookie),
  }, { remoteAddr: peer });
  return { response, commands: ctx.commander.commands };
}

/** What OpenVPN was told: a deny's reason for its log, or the command's kind. */
/** Each refusal as `<kind> <log reason>` (`deny` or `halt`), any other command by its kind. */
function denials(commands: readonly RecordedCommand[]): string[] {
  return commands.map((command) =>
    command.kind === "deny" || command.kind === "halt"
      ? `${command.kind} ${command.reason}`
      : command.kind
  );
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

Deno.test("check_client_ip: a trusted proxy forwarding the VPN client's address with a port (Azure Application Gateway) goes on to the IdP", async () => {
  const response = await confirmFrom(PROXY_IP, `${VPN_CLIENT_IP}:51234`);
  assertEquals(response.status, 303);
  assertStringIncludes(response.headers.get("location") ?? "", "https://idp.example/");
});

Deno.test("check_client_ip: at the callback, a trusted proxy forwarding the VPN client's address with a port signs the client in", async () => {
  const { response, commands } = await callbackFrom(PROXY_IP, `${VPN_CLIENT_IP}:51234`);
  assertEquals(response.status, 200);
  assertEquals(denials(commands), ["auth"]);
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
  // The retry's tab would open in the same browser on the same network: halted.
  assertEquals(denials(commands), ["halt browser ip mismatch"]);
});

Deno.test("check_client_ip: at the callback, a trusted proxy forwarding another address is refused", async () => {
  const { response, commands } = await callbackFrom(PROXY_IP, OTHER_IP);
  assertEquals(response.status, 403);
  // The retry's tab would open in the same browser on the same network: halted.
  assertEquals(denials(commands), ["halt browser ip mismatch"]);
});

Deno.test("check_client_ip: at the callback, a trusted proxy forwarding the VPN client's address signs the client in", async () => {
  const { response, commands } = await callbackFrom(PROXY_IP, VPN_CLIENT_IP);
  assertEquals(response.status, 200);
  assertEquals(denials(commands), ["auth"]);
});

/** What a Continue refused by check_client_ip logged, and what OpenVPN was told. */
async function refusalLogged(peer: string, forwardedFor?: string) {
  const ctx = await setup();
  const capture = captureLogs();
  try {
    await assertRefused(await confirmFrom(peer, forwardedFor, ctx));
  } finally {
    capture.stop();
  }
  const lines = capture.lines.filter((line) => /not begun/.test(line.text));
  return { lines, commands: denials(ctx.commander.commands), ctx };
}

Deno.test("check_client_ip: a Continue from another network logs both addresses, and tells OpenVPN nothing", async () => {
  const { lines, commands } = await refusalLogged(OTHER_IP);
  assertEquals(commands, []);
  assertEquals(lines.map((line) => [line.level, line.text]), [[
    "info",
    `Sign-in of alice-laptop (cid 4) not begun: the browser's address ${OTHER_IP} is not the VPN ` +
    `client's ${VPN_CLIENT_IP} (http.check_client_ip); nothing was sent to OpenVPN, the client ` +
    "waits until auth_pending_timeout",
  ]]);
});

Deno.test("check_client_ip: a Continue from a trusted proxy's or this host's own address says the proxy must send X-Forwarded-For", async () => {
  for (const peer of [PROXY_IP, "127.0.0.1", "::1"]) {
    const { lines, commands } = await refusalLogged(peer);
    assertEquals(commands, []);
    assertEquals(lines.length, 1, peer);
    assertStringIncludes(
      lines[0]!.text,
      `the browser's address ${peer} is not the VPN client's ${VPN_CLIENT_IP} ` +
        "(http.check_client_ip); nothing was sent to OpenVPN, the client waits until " +
        `auth_pending_timeout; ${JSON.stringify(peer)} is this host or a trusted proxy: the ` +
        "reverse proxy must send X-Forwarded-For, and be in http.trusted_proxies",
    );
  }
});

Deno.test("check_client_ip: refused Continues are logged at info once a minute, at debug in between", async () => {
  const ctx = await setup();
  const capture = captureLogs();
  try {
    for (const minutes of [0, 0.5, 0.9, 1]) {
      ctx.clock.time = T0 + minutes * 60_000;
      await assertRefused(await confirmFrom(OTHER_IP, undefined, ctx));
    }
  } finally {
    capture.stop();
  }
  const lines = capture.lines.filter((line) => /not begun/.test(line.text));
  assertEquals(lines.map((line) => line.level), ["info", "debug", "debug", "info"]);
  assertStringIncludes(lines[3]!.text, "(2 more since the last)");
});

/** The refusal in the denial line of a callback refused by check_client_ip: no user named yet. */
const REFUSED = "denied before the identity provider named its user: browser ip mismatch";

/** The denial line a callback refused by check_client_ip logged. */
async function callbackRefusalLogged(peer: string, forwardedFor?: string) {
  const capture = captureLogs();
  let refused;
  try {
    refused = await callbackFrom(peer, forwardedFor);
  } finally {
    capture.stop();
  }
  assertEquals(refused.response.status, 403);
  assertEquals(denials(refused.commands), ["halt browser ip mismatch"]);
  return capture.lines.filter((line) => line.text.includes(REFUSED));
}

Deno.test("check_client_ip: a callback from a trusted proxy's or this host's own address says the proxy must send X-Forwarded-For", async () => {
  // Continue came through with the VPN client's address; the callback's path did not.
  for (const peer of [PROXY_IP, "127.0.0.1", "::1"]) {
    const lines = await callbackRefusalLogged(peer);
    assertEquals(lines.length, 1, peer);
    assertStringIncludes(
      lines[0]!.text,
      `${REFUSED}; ${JSON.stringify(peer)} is this host or a trusted proxy: ` +
        "the reverse proxy must send X-Forwarded-For, and be in http.trusted_proxies",
    );
  }
});

Deno.test("check_client_ip: a callback from another network logs the refusal without the proxy hint", async () => {
  const lines = await callbackRefusalLogged(OTHER_IP);
  assertEquals(lines.map((line) => line.text.endsWith(REFUSED)), [true]);
});
