/**
 * `make demo`: brings up the whole system on this machine (a Keycloak-like identity provider,
 * an OpenVPN server and client in their own network namespaces, and the bridge), signs a demo
 * user in with a headless browser, shows the tunnel working, and tears it all down, saying what
 * happens at each step.
 *
 *   make demo                 # a headless Chromium signs in as alice
 *   make demo INTERACTIVE=1   # you open the login URL yourself (in a browser on this machine)
 *
 * Needs root (network namespaces), openvpn, iproute2 and, unless INTERACTIVE=1, chromium.
 */

import { DEFAULT_USERS } from "../support/idp/mod.ts";
import { installSignalCleanup, runAllCleanups } from "./lib/cleanup.ts";
import type { OpenVpnClient } from "./lib/openvpn_client.ts";
import { findExecutable, labSkipReason } from "./lib/requirements.ts";
import { createStack, type Stack } from "./lib/stack.ts";

const interactive = ["1", "true", "yes"].includes(Deno.env.get("INTERACTIVE") ?? "");
const PENDING_TIMEOUT_SEC = interactive ? 180 : 60;

function say(text: string): void {
  console.log(text);
}

function indent(text: string): string {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => `    ${line}`)
    .join("\n");
}

function preflight(): string | undefined {
  if (Deno.uid() !== 0) return "make demo needs root for network namespaces: run it with sudo";
  const reason = labSkipReason();
  if (reason !== undefined) return `make demo cannot run here: ${reason}`;
  if (!interactive && findExecutable("chromium") === undefined) {
    return "make demo needs chromium for the headless sign-in (apt-get install chromium), " +
      "or run it as make demo INTERACTIVE=1 and sign in yourself";
  }
  return undefined;
}

async function signInAs(
  stack: Stack,
  client: OpenVpnClient,
  username: string,
  password: string,
): Promise<void> {
  const url = await client.waitForWebAuthUrl(20_000);
  say(`The VPN client asked for a login; it shows this URL: ${url}`);
  if (interactive) {
    const pending = await client.waitForAuthPending(5000);
    const seconds = /timeout (\d+)/.exec(pending.description)?.[1] ?? String(PENDING_TIMEOUT_SEC);
    say("");
    say("Open that URL in a browser ON THIS MACHINE (the bridge listens on 127.0.0.1 only),");
    say(`press Continue, and sign in as ${username} / ${password}.`);
    say(`Waiting up to ${seconds} seconds for you (OpenVPN gives up after that)...`);
    say("");
    await client.waitForState("CONNECTED", Number(seconds) * 1000 + 5000);
    return;
  }
  say(`Opening it in a headless Chromium: Continue, then the IdP's form as ${username}...`);
  const browser = await stack.browser();
  await browser.context.clearCookies();
  const page = await browser.login(url, username, password);
  say(`The browser ends on the bridge's page, which says:\n${indent(page.text)}`);
}

async function demo(): Promise<void> {
  say(
    `This demo runs everything on this machine; nothing leaves it.${
      interactive ? " (interactive: you sign in yourself)" : ""
    }`,
  );
  const stack = await createStack({
    narrate: say,
    lab: interactive ? { server: { handWindow: PENDING_TIMEOUT_SEC + 60 } } : {},
    bridge: (lab) => ({
      authPendingTimeout: `${PENDING_TIMEOUT_SEC}s`,
      clientConfig: [{
        groups: ["/staff/vpn-admins"],
        lines: [`push "route ${lab.network.spareNetwork} 255.255.255.0"`],
      }],
    }),
  });
  try {
    say("Demo users at the identity provider:");
    for (const user of DEFAULT_USERS) {
      const notes = user.disabled
        ? " (disabled)"
        : user.denied
        ? " (login ends in access_denied)"
        : "";
      say(
        `    ${user.username} / ${user.password}  groups ${(user.groups ?? []).join(", ")}${notes}`,
      );
    }
    say("The bridge lets in members of /vpn-users and pushes an extra route to /staff/vpn-admins.");

    say("");
    say(
      "Starting the VPN client (OpenVPN 2.6, certificate alice-laptop, announces IV_SSO=webauth)...",
    );
    const alice = await stack.lab.startClient({ name: "alice-laptop" });
    await signInAs(stack, alice, "alice", "alice-password");
    const connected = await alice.waitForState("CONNECTED", 20_000);
    const ping = await stack.lab.pingServer(3);
    say(
      `Signed in as alice; the tunnel is up: client ${connected.localIp} -> server ${stack.lab.network.serverTunnelIp}, ` +
        `${ping.received}/${ping.sent} pings answered`,
    );
    if (!ping.allReplied) throw new Error(`Pings through the tunnel failed:\n${ping.output}`);
    const routes = await alice.pushedRoutes();
    say(`The server pushed alice's group route: ${routes.join(", ") || "(none)"}`);

    if (!interactive) {
      say("");
      say("Now bob tries (he is only in /other)...");
      const bob = await stack.lab.startClient({ name: "bob-laptop" });
      await signInAs(stack, bob, "bob", "bob-password");
      const reason = await bob.waitForHalt(15_000);
      say(`The server stops the VPN client (HALT): "${reason}"`);
    }

    say("");
    say("What the bridge logged:");
    say(
      indent(stack.bridge.log.split("\n").filter((line) => !line.startsWith("-----")).join("\n")),
    );
    say("");
    say("Stopping the bridge (SIGTERM)...");
    await stack.bridge.stop();
    say("The bridge stopped cleanly (exit code 0).");
  } catch (error) {
    if (!interrupted) {
      console.error(await stack.diagnostics().catch((e) => `Diagnostics failed: ${e}`));
    }
    throw error;
  } finally {
    say("Tearing down the VPN client and server, the namespaces, the identity provider...");
    await stack.dispose();
  }
  say("Done: everything the demo started is gone.");
}

const problem = preflight();
if (problem !== undefined) {
  console.error(problem);
  Deno.exit(1);
}
// Ctrl-C: the lab's signal handler tears everything down and exits; meanwhile the demo's own
// waits fail (their processes are gone), which is not worth a stack trace.
let interrupted = false;
const noteInterrupt = () => {
  interrupted = true;
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, noteInterrupt);
installSignalCleanup();
try {
  await demo();
} catch (error) {
  if (!interrupted) console.error(`The demo failed: ${(error as Error).stack ?? error}`);
  await runAllCleanups();
  Deno.exit(interrupted ? 130 : 1);
}
Deno.exit(0);
