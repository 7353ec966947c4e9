/**
 * Runs the bridge in its own process for B1/B2, with a store already holding `--prefill`
 * established sessions (cids bound for the first `--bound` of them).
 *
 * - `file` backend: the sessions are written through `openSessionStore` into the configured
 *   file, which is closed again; then the real composition root (`startDaemon`) starts on it.
 * - `memory` backend: a memory store cannot be filled from outside `startDaemon`, so this
 *   builds the management half of the daemon (connection, commander, ClientEvents, ServerLink:
 *   the same classes, wired the same way) around a store it filled itself. The HTTP side is
 *   not needed to answer management events.
 *
 *   deno run -A bench/lib/bridge_child.ts CONFIG_FILE PREFILL BOUND
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { ClientEvents } from "../../src/bridge/client_events.ts";
import { managementCommander } from "../../src/bridge/management_commander.ts";
import { ServerLink } from "../../src/bridge/server_link.ts";
import { parseConfig } from "../../src/config/load.ts";
import { randomToken, startDaemon } from "../../src/daemon.ts";
import { LOGIN_ID_BYTES } from "../../src/http/routes.ts";
import { configureLogging, getLogger } from "../../src/log.ts";
import { ManagementConnection } from "../../src/management/connection.ts";
import { createOidcClient } from "../../src/oidc/client.ts";
import { callbackUrl } from "../../src/http/routes.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { fillStore } from "./sessions.ts";

const [configPath = "", prefillText = "0", boundText = "0"] = process.argv.slice(2);
const { config } = parseConfig(readFileSync(configPath, "utf8"), configPath, {
  env: {},
  readTextFile: (path) => readFileSync(path, "utf8"),
});
const prefill = Number(prefillText);
const bound = Number(boundText);

if (config.sessions.backend === "file") {
  const store = await openSessionStore(config.sessions, config.http.secret);
  await fillStore(store, 0, prefill, bound);
  await store.close();
  const service = await startDaemon(config);
  process.on("SIGTERM", () => service.stop().then(() => process.exit(0)));
} else {
  configureLogging(config.log.level, config.log.format);
  const now = () => Date.now();
  const store = await openSessionStore(config.sessions, config.http.secret, now);
  await fillStore(store, 0, prefill, bound);
  const connection = new ManagementConnection({
    address: config.openvpn.management,
    password: config.openvpn.password,
    commandTimeoutMs: config.openvpn.commandTimeoutMs,
    reconnectMaxDelayMs: config.openvpn.reconnectMaxDelayMs,
    name: "default",
  });
  const commander = managementCommander(connection);
  const events = new ClientEvents({
    server: "default",
    commander,
    store,
    oidc: createOidcClient(config.oidc, callbackUrl(config.http.baseUrl), { now }),
    config: {
      policy: {
        oidc: config.oidc,
        authorization: config.authorization,
        clientConfig: config.clientConfig,
      },
      baseUrl: config.http.baseUrl,
      bypassCommonNames: config.openvpn.bypassCommonNames,
      authPendingTimeoutMs: config.openvpn.authPendingTimeoutMs,
      sessions: config.sessions,
    },
    now,
    newLoginId: () => randomToken(LOGIN_ID_BYTES),
    log: getLogger("clients"),
  });
  const link = new ServerLink(connection, events, commander, getLogger("clients"));
  link.start();
  process.on("SIGTERM", () => link.stop().then(() => process.exit(0)));
}
