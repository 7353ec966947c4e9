/**
 * The whole system in one place: the Keycloak-like test IdP (in this process, on 127.0.0.1),
 * the lab (OpenVPN server and clients in namespaces), the real bridge as a child process talking
 * to the server's unix management socket, and, on demand, a headless Chromium playing the user.
 *
 * `withStack()` prints the bridge log and the OpenVPN logs when its body throws, and tears
 * everything down either way.
 */

import { join } from "node:path";
import { startTestIdp, type TestIdp } from "../../support/idp/mod.ts";
import { freePort } from "../../support/free_port.ts";
import { type LabBrowser, openBrowser, type PageResult } from "./browser.ts";
import {
  type BridgeConfigOptions,
  BridgeProcess,
  type BridgeRuntime,
  buildBridgeConfig,
} from "./bridge_process.ts";
import { CleanupStack, useDiagnosed } from "./cleanup.ts";
import { createLab, type Lab, type LabOptions } from "./lab.ts";
import type { OpenVpnClient } from "./openvpn_client.ts";

export const OIDC_CLIENT_ID = "openvpn";
export const OIDC_CLIENT_SECRET = "e2e-openvpn-client-secret";

/** Bridge settings a stack user may choose; sockets, ports and the IdP come from the stack. */
export type StackBridgeOptions =
  & Partial<
    Omit<
      BridgeConfigOptions,
      | "managementSocket"
      | "servers"
      | "listenPort"
      | "issuer"
      | "clientId"
      | "clientSecret"
      | "sessionsPath"
      | "openvpnToml"
    >
  >
  & {
    /**
     * Extra TOML for the `[openvpn]` table of the lab's server, or with several the `[[openvpn]]`
     * table of each, by its label.
     */
    readonly serverToml?: Readonly<Record<string, string>>;
  };

export interface StackOptions {
  readonly lab?: LabOptions;
  /** Default "source" (`deno run src/main.ts`). */
  readonly runtime?: BridgeRuntime;
  /** Bridge settings, or a function of the lab (e.g. to push a route to its spare network). */
  readonly bridge?: StackBridgeOptions | ((lab: Lab) => StackBridgeOptions);
  /** Advertised by the IdP as its authorization endpoint (e.g. a front on another origin). */
  readonly idpAuthorizationEndpoint?: string;
  /** Extra redirect URIs to register at the IdP (e.g. behind a proxy). */
  readonly extraRedirectUris?: readonly string[];
  /** Port the bridge listens on (default: a free one). */
  readonly listenPort?: number;
  /** Say what happens, for the demo (default: silent). */
  readonly narrate?: (text: string) => void;
  /**
   * Where the bridge's config is written (default `<lab dir>/bridge.toml`), e.g. the installed
   * package's conffile, which the service user can read. An existing file keeps its mode.
   */
  readonly configPath?: string;
  /** Default `<lab dir>/sessions.sqlite`. */
  readonly sessionsPath?: string;
  /** Installed runtime: a command that execs the binary (e.g. `strace -f -o FILE`). */
  readonly wrapper?: readonly string[];
}

export interface SignInResult {
  /** The URL the VPN client announced (`>INFOMSG:WEB_AUTH::<url>`). */
  readonly url: string;
  /** The bridge's final page after the IdP login. */
  readonly page: PageResult;
}

export interface Stack {
  readonly idp: TestIdp;
  readonly lab: Lab;
  /** The running bridge (replaced by `replaceBridge`). */
  readonly bridge: BridgeProcess;
  readonly listenPort: number;
  /** `http://127.0.0.1:<listenPort>`: where the bridge really listens. */
  readonly listenUrl: string;
  readonly configPath: string;
  /** Opens Chromium on first use; later calls return the same browser. */
  browser(): Promise<LabBrowser>;
  /**
   * Waits for the client's WEB_AUTH URL (announced after line `since` of its management
   * transcript), then signs in with a browser that has no IdP session yet.
   */
  signIn(
    client: OpenVpnClient,
    username: string,
    password: string,
    options?: { since?: number; timeoutMs?: number },
  ): Promise<SignInResult>;
  /**
   * Stops the bridge (SIGTERM, must exit 0) and starts one with the same config; `whileDown`
   * runs in between (an outage of the bridge).
   */
  replaceBridge(runtime?: BridgeRuntime, whileDown?: () => Promise<void>): Promise<BridgeProcess>;
  /**
   * Bridge log (of each process replaceBridge stopped, then the running one), then the lab's
   * OpenVPN logs and client transcripts.
   */
  diagnostics(): Promise<string>;
  /** Stops everything; idempotent. */
  dispose(): Promise<void>;
}

/** Builds the stack; whatever was started before a failure is stopped again. */
export async function createStack(options: StackOptions = {}): Promise<Stack> {
  const say = options.narrate ?? (() => {});
  const cleanup = new CleanupStack("e2e stack");
  try {
    const listenPort = options.listenPort ?? await freePort();
    const listenUrl = `http://127.0.0.1:${listenPort}`;
    const bridgeOptionsFor = (lab: Lab) =>
      typeof options.bridge === "function" ? options.bridge(lab) : options.bridge ?? {};
    const baseUrlOf = (bridgeOptions: StackBridgeOptions) =>
      (bridgeOptions.baseUrl ?? listenUrl).replace(/\/+$/, "");
    const redirectUris = new Set([
      `${listenUrl}/oauth2/callback`,
      ...(options.extraRedirectUris ?? []),
    ]);
    if (typeof options.bridge !== "function") {
      redirectUris.add(`${baseUrlOf(options.bridge ?? {})}/oauth2/callback`);
    }

    say("Starting the identity provider (a Keycloak-like OpenID Connect server)...");
    const idp = await startTestIdp({
      clients: [{
        clientId: OIDC_CLIENT_ID,
        clientSecret: OIDC_CLIENT_SECRET,
        redirectUris: [...redirectUris],
        // Where the bridge really listens: the IdP posts to it directly, not through a proxy.
        backchannelLogoutUri: `${listenUrl}/oauth2/backchannel-logout`,
      }],
      ...(options.idpAuthorizationEndpoint === undefined
        ? {}
        : { authorizationEndpoint: options.idpAuthorizationEndpoint }),
    });
    cleanup.defer("stop the IdP", () => idp.stop());
    say(`The identity provider is up at ${idp.issuer}`);

    say("Creating the network namespaces and starting the OpenVPN server...");
    const lab = await createLab(options.lab ?? {});
    cleanup.defer("dispose the lab", () => lab.dispose());
    say(
      `The OpenVPN server listens on ${lab.network.serverVethIp}:1194 in namespace ${lab.network.serverNs}; ` +
        `its management socket is ${lab.server.managementSocket}`,
    );

    const bridgeOptions = bridgeOptionsFor(lab);
    const baseUrl = baseUrlOf(bridgeOptions);
    if (!redirectUris.has(`${baseUrl}/oauth2/callback`)) {
      throw new Error(
        `Register ${baseUrl}/oauth2/callback in extraRedirectUris: the IdP starts before the lab`,
      );
    }
    const configPath = options.configPath ?? join(lab.dir, "bridge.toml");
    await Deno.writeTextFile(
      configPath,
      buildBridgeConfig({
        ...bridgeOptions,
        managementSocket: lab.server.managementSocket,
        // Several lab servers: one [[openvpn]] table each, named by the server's label.
        ...(lab.servers.length > 1
          ? {
            servers: lab.servers.map((server) => ({
              name: server.label,
              managementSocket: server.managementSocket,
              ...(bridgeOptions.serverToml?.[server.label] === undefined
                ? {}
                : { toml: bridgeOptions.serverToml[server.label] }),
            })),
          }
          : { openvpnToml: bridgeOptions.serverToml?.[lab.server.label] }),
        listenPort,
        baseUrl,
        issuer: idp.issuer,
        clientId: OIDC_CLIENT_ID,
        clientSecret: OIDC_CLIENT_SECRET,
        sessionsPath: options.sessionsPath ?? join(lab.dir, "sessions.sqlite"),
      }),
      options.configPath === undefined ? { mode: 0o600 } : {},
    );

    const runtime = options.runtime ?? "source";
    const runtimeNames = {
      source: "deno run src/main.ts",
      binary: "the compiled binary",
      installed: "the installed package",
    };
    say(`Starting the bridge (${runtimeNames[runtime]}) on ${listenUrl}...`);
    const wrapper = options.wrapper;
    let bridge = await BridgeProcess.start({ runtime, configPath, listenUrl, wrapper });
    // The logs of the processes replaceBridge stopped, for the diagnostics.
    let replacedLogs = "";
    // Killed, not stopped, at teardown: a test that wants a clean stop checks it itself.
    cleanup.defer("kill the bridge", () => bridge.kill());
    say("The bridge is connected to OpenVPN and to the identity provider (/readyz says ready)");

    let browser: LabBrowser | undefined;
    cleanup.defer("close the browser", () => browser?.close());
    const getBrowser = async () => {
      browser ??= await openBrowser({ timeoutMs: 20_000 });
      return browser;
    };

    return {
      idp,
      lab,
      get bridge() {
        return bridge;
      },
      listenPort,
      listenUrl,
      configPath,
      browser: getBrowser,
      async signIn(client, username, password, signInOptions = {}) {
        const url = await client.management.waitForWebAuthUrl(
          signInOptions.timeoutMs ?? 20_000,
          signInOptions.since ?? 0,
        );
        const b = await getBrowser();
        // Every sign-in starts without an IdP session, so the login form is always shown.
        await b.context.clearCookies();
        const page = await b.login(url, username, password);
        return { url, page };
      },
      async replaceBridge(nextRuntime = bridge.runtime, whileDown) {
        const stopped = bridge;
        await stopped.stop();
        await whileDown?.();
        bridge = await BridgeProcess.start({
          runtime: nextRuntime,
          configPath,
          listenUrl,
          wrapper,
        });
        replacedLogs += stopped.log;
        return bridge;
      },
      async diagnostics() {
        return [
          `===== bridge log (${bridge.runtime}, config ${configPath})`,
          replacedLogs + bridge.log,
          await lab.diagnostics(),
        ].join("\n");
      },
      async dispose() {
        const errors = await cleanup.dispose();
        if (errors.length > 0) throw new AggregateError(errors, "Stack cleanup failed");
      },
    };
  } catch (error) {
    for (const problem of await cleanup.dispose()) console.error(problem);
    throw error;
  }
}

/** Runs `body` with a fresh stack; prints the diagnostics if it throws, and always disposes. */
export async function withStack<T>(
  options: StackOptions,
  body: (stack: Stack) => Promise<T>,
): Promise<T> {
  return useDiagnosed(await createStack(options), body);
}
