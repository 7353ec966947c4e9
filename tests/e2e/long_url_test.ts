/**
 * OpenVPN 2.6 clients drop a `WEB_AUTH::<url>` longer than 246 characters without a word, so the
 * bridge refuses base URLs whose login URLs could not fit. Here a base URL of the longest allowed
 * length sits behind a reverse proxy that strips its path prefix (as real deployments do): the
 * client must receive the URL intact, and the login must work through it. Needs root, openvpn
 * and chromium for the lab test; the check-config test needs nothing special.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../support/assert.ts";
import { join } from "node:path";
import { freePort } from "../support/free_port.ts";
import {
  binarySkipReason,
  type BridgeRuntime,
  buildBridgeConfig,
  checkBridgeConfig,
} from "./lib/bridge_process.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

const skip = announceSkip("the e2e long URL test", browserLabSkipReason());

/** What a 2.6 client forwards to its GUI at most (`WEB_AUTH:<flags>:` plus the URL). */
const WEB_AUTH_LIMIT = 246;
/** The longest base URL whose login URLs fit: 246 - "WEB_AUTH::" - "/login/" - 27-char id. */
const MAX_BASE_URL = WEB_AUTH_LIMIT - "WEB_AUTH::".length - "/login/".length - 27;
/** The same with `web_auth_flags = ["external"]`: the flag counts (README: 194). */
const MAX_BASE_URL_EXTERNAL = MAX_BASE_URL - "external".length;

/** A realistic base URL behind a path-routing proxy, padded to exactly `length` characters. */
function longBaseUrl(origin: string, length: number): string {
  const head = `${origin}/corporate-gateway/eu-west-1/remote-access/openvpn/single-sign-on/`;
  const filler = "tenant-0123456789abcdef-".repeat(10);
  const url = head + filler.slice(0, length - head.length);
  assertEquals(url.length, length);
  return url;
}

/** Forwards `<prefix>/...` to `<target>/...` (like nginx `location /prefix/ { proxy_pass }`). */
function startPrefixProxy(port: number, prefix: string, target: string): Deno.HttpServer {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${prefix}/`)) return new Response("Not proxied", { status: 404 });
    const headers = new Headers(request.headers);
    for (const name of ["host", "connection", "content-length"]) headers.delete(name);
    const upstream = await fetch(`${target}${url.pathname.slice(prefix.length)}${url.search}`, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD"
        ? null
        : await request.arrayBuffer(),
      redirect: "manual",
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  });
}

Deno.test({
  name: "a base URL of the longest allowed length: the client receives the whole login URL " +
    "(246 characters with WEB_AUTH::) and the login works through a prefix-stripping proxy",
  ignore: skip !== undefined,
  async fn() {
    const proxyPort = await freePort();
    const listenPort = await freePort();
    const baseUrl = longBaseUrl(`http://127.0.0.1:${proxyPort}`, MAX_BASE_URL);
    const prefix = new URL(baseUrl).pathname;
    const proxy = startPrefixProxy(proxyPort, prefix, `http://127.0.0.1:${listenPort}`);
    try {
      await withStack({ listenPort, bridge: { baseUrl } }, async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        const { url, page } = await s.signIn(client, "alice", "alice-password");
        assert(url.startsWith(`${baseUrl}/login/`), url);
        assertMatch(url.slice(`${baseUrl}/login/`.length), /^[A-Za-z0-9_-]{27}$/);
        assertEquals(`WEB_AUTH::${url}`.length, WEB_AUTH_LIMIT);
        // Exactly this line reached the client's GUI side: nothing cut, nothing dropped.
        assert(client.lines.includes(`>INFOMSG:WEB_AUTH::${url}`));
        assertNotMatch(
          await Deno.readTextFile(client.logPath),
          /Received INFO command is too long/,
        );

        assertMatch(page.text, /You are connected/);
        assert(page.finalUrl.startsWith(`${baseUrl}/oauth2/callback`), page.finalUrl);
        await client.waitForState("CONNECTED", 20_000);
        const ping = await s.lab.pingServer(3);
        assert(ping.allReplied, ping.output);
      });
    } finally {
      await proxy.shutdown();
    }
  },
});

Deno.test({
  name: 'web_auth_flags = ["external"] with the longest base URL it allows: the client passes ' +
    "WEB_AUTH:external:<url> (246 characters) to its GUI side whole, and the harness reads the " +
    "URL out of it",
  ignore: skip !== undefined,
  async fn() {
    const proxyPort = await freePort();
    const listenPort = await freePort();
    const baseUrl = longBaseUrl(`http://127.0.0.1:${proxyPort}`, MAX_BASE_URL_EXTERNAL);
    const proxy = startPrefixProxy(
      proxyPort,
      new URL(baseUrl).pathname,
      `http://127.0.0.1:${listenPort}`,
    );
    try {
      await withStack({
        listenPort,
        // The server's label is the lab's, so the IdP (started first) is told the base URL here.
        extraRedirectUris: [`${baseUrl}/oauth2/callback`],
        bridge: (lab) => ({
          baseUrl,
          serverToml: { [lab.server.label]: 'web_auth_flags = ["external"]' },
        }),
      }, async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        const { url, page } = await s.signIn(client, "alice", "alice-password");
        assert(url.startsWith(`${baseUrl}/login/`), url);
        assertEquals(`WEB_AUTH:external:${url}`.length, WEB_AUTH_LIMIT);
        assert(client.lines.includes(`>INFOMSG:WEB_AUTH:external:${url}`), client.lines.join("\n"));
        assertNotMatch(
          await Deno.readTextFile(client.logPath),
          /Received INFO command is too long/,
        );
        assertMatch(page.text, /You are connected/);
        await client.waitForState("CONNECTED", 20_000);
      });
    } finally {
      await proxy.shutdown();
    }
  },
});

const runtimes: BridgeRuntime[] = binarySkipReason() === undefined
  ? ["source", "binary"]
  : ["source"];

Deno.test(
  "check-config accepts a base URL of the longest allowed length and refuses one more " +
    `character with exit 2 (${runtimes.join(" and ")})`,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "oao-e2e-config-" });
    try {
      const write = async (name: string, baseUrl: string) => {
        const path = join(dir, name);
        await Deno.writeTextFile(
          path,
          buildBridgeConfig({
            managementSocket: "/run/openvpn/server.sock",
            listenPort: 9000,
            baseUrl,
            issuer: "https://idp.example.com/realms/vpn",
            clientId: "openvpn",
            clientSecret: "not-a-real-secret",
            sessionsPath: join(dir, "sessions.sqlite"),
          }),
        );
        return path;
      };
      const origin = "https://vpn.example.com";
      const fits = await write("fits.toml", longBaseUrl(origin, MAX_BASE_URL));
      const tooLong = await write("too-long.toml", longBaseUrl(origin, MAX_BASE_URL + 1));
      for (const runtime of runtimes) {
        const ok = await checkBridgeConfig(runtime, fits);
        assertEquals(ok.code, 0, `${runtime}: ${ok.stderr}`);
        assertMatch(ok.stdout, /valid/);
        const refused = await checkBridgeConfig(runtime, tooLong);
        assertEquals(refused.code, 2, `${runtime}: ${refused.stdout}${refused.stderr}`);
        assertMatch(refused.stderr, /http\.base_url/);
        assertMatch(refused.stderr, new RegExp(`Too long \\(${MAX_BASE_URL + 1} characters\\)`));
        assertMatch(refused.stderr, /246/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
