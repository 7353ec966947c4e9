/**
 * Runs the bridge in its own process for B1/B2, with a store already holding `--prefill`
 * established sessions (cids bound for the first `--bound` of them), through the real
 * composition root (`startDaemon`). A file store is filled and closed first, so the daemon
 * opens it as after a restart; a memory store is filled and handed to the daemon.
 *
 *   deno run -A bench/lib/bridge_child.ts CONFIG_FILE PREFILL BOUND
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseConfig } from "../../src/config_loader/load.ts";
import { startDaemon } from "../../src/daemon.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { fillStore, fillStoreConcurrently } from "./sessions.ts";

const [configPath = "", prefillText = "0", boundText = "0"] = process.argv.slice(2);
const { config } = parseConfig(readFileSync(configPath, "utf8"), configPath, {
  env: {},
  readTextFile: (path) => readFileSync(path, "utf8"),
});
const prefill = Number(prefillText);
const bound = Number(boundText);

const store = await openSessionStore(config.sessions, config.http.secret);
// Redis answers each put over the network: many in flight, or the fill outlasts the storm.
if (config.sessions.backend === "redis") await fillStoreConcurrently(store, prefill, bound);
else await fillStore(store, 0, prefill, bound);
if (config.sessions.backend === "file") await store.close();
const service = await startDaemon(config, config.sessions.backend === "file" ? {} : { store });
process.on("SIGTERM", () => service.stop().then(() => process.exit(0)));
