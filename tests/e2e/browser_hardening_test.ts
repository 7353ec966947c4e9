/**
 * Real-browser flows the HTTP hardening of issue 11 promises: a login with the confirmation
 * page turned off, and a login whose authorization endpoint is on another origin than the
 * issuer (a separate login host, or an IdP that brokers on at once). Chromium enforces the
 * pages' CSP `form-action` on every redirect after Continue, so the origins the bridge allows
 * decide whether the IdP's login form is ever reached. Needs root, openvpn, iproute2, chromium.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

const browserSkip = announceSkip("the e2e browser hardening tests", browserLabSkipReason());

/** An HTTP server on 127.0.0.1 that redirects every request to `target()` with its query. */
async function redirectingFront(
  target: () => string,
  port = 0,
): Promise<Server & { origin: string }> {
  const server = createServer((req, res) => {
    const query = (req.url ?? "").split("?")[1];
    res.writeHead(302, { location: query === undefined ? target() : `${target()}?${query}` });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(server, { origin });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

Deno.test({
  name: "confirm_login = false: the link goes straight to the IdP and alice is CONNECTED",
  ignore: browserSkip !== undefined,
  async fn() {
    await withStack({ bridge: { confirmLogin: false } }, async (stack) => {
      const client = await stack.lab.startClient({ name: "alice-laptop" });
      const browser = await stack.browser();
      const url = await client.management.waitForWebAuthUrl(20_000, 0);
      await browser.context.clearCookies();
      // No confirmation page: the browser goes on to the IdP's login form by itself (a page
      // that sets the binding cookie and refreshes at once, so a link preview takes nothing).
      await browser.page.goto(url, { waitUntil: "load" });
      await browser.page.waitForURL(`${stack.idp.issuer}**`, { timeout: 10_000 });
      assert(
        browser.page.url().startsWith(stack.idp.issuer),
        `Expected the IdP's login form, got ${browser.page.url()}`,
      );
      const page = await browser.login(url, "alice", "alice-password");
      assertMatch(page.text, /You are connected/);
      await client.waitForState("CONNECTED", 20_000);
    });
  },
});

/**
 * The discovered authorization endpoint is a front on one origin that sends the browser on to
 * a second front (another origin, as a brokered upstream IdP would be), which sends it to the
 * IdP's own login form.
 */
async function withFronts(
  body: (fronts: { first: string; second: string; setIdp: (issuer: string) => void }) => Promise<
    void
  >,
) {
  let idpAuth = "";
  const second = await redirectingFront(() => idpAuth);
  const first = await redirectingFront(() => `${second.origin}/broker`);
  try {
    await body({
      first: first.origin,
      second: second.origin,
      setIdp: (issuer) => (idpAuth = `${issuer}/auth`),
    });
  } finally {
    await closeServer(first);
    await closeServer(second);
  }
}

Deno.test({
  name: "an authorization endpoint on another origin, brokering on to a configured origin: " +
    "alice signs in through both in Chromium and is CONNECTED",
  ignore: browserSkip !== undefined,
  async fn() {
    await withFronts(async (fronts) => {
      await withStack({
        idpAuthorizationEndpoint: `${fronts.first}/login`,
        bridge: { formActionOrigins: [fronts.second] },
      }, async (stack) => {
        fronts.setIdp(stack.idp.issuer);
        const client = await stack.lab.startClient({ name: "alice-laptop" });
        const { page } = await stack.signIn(client, "alice", "alice-password");
        assertMatch(page.text, /You are connected/);
        await client.waitForState("CONNECTED", 20_000);
      });
    });
  },
});

Deno.test({
  name: "an origin neither discovered nor configured is blocked by the browser after Continue, " +
    "and the IdP's form is never reached",
  ignore: browserSkip !== undefined,
  async fn() {
    await withFronts(async (fronts) => {
      await withStack({ idpAuthorizationEndpoint: `${fronts.first}/login` }, async (stack) => {
        fronts.setIdp(stack.idp.issuer);
        const client = await stack.lab.startClient({ name: "alice-laptop" });
        const browser = await stack.browser();
        const url = await client.management.waitForWebAuthUrl(20_000, 0);
        await browser.page.goto(url, { waitUntil: "load" });
        const messages: string[] = [];
        const blocked = new Promise<string>((resolve) =>
          browser.page.on("console", (message) => {
            messages.push(message.text());
            if (/form-action/.test(message.text())) resolve(message.text());
          })
        );
        await browser.page.click("#continue").catch(() => {});
        const violation = await Promise.race([
          blocked,
          new Promise<string>((resolve) => setTimeout(() => resolve(""), 10_000)),
        ]);
        // Chromium names the form's own URL, not the redirect target it blocked; the policy it
        // quotes holds the discovered endpoint's origin but not the unconfigured one.
        const policy = /"form-action ([^"]*)"/.exec(violation)?.[1] ?? "";
        assert(policy !== "", `console: ${messages.join(" | ")}; page ${browser.page.url()}`);
        assert(policy.split(" ").includes(fronts.first), policy);
        assert(!policy.split(" ").includes(fronts.second), policy);
        assertEquals(await browser.page.locator("#username").count(), 0);
      });
    });
  },
});
