/**
 * `check-config --probe` on a lock file SQLite refuses (another program's file, a damaged one):
 * the service's start says to remove it, as it holds no session; the probe told the operator to
 * set sessions.path to a new file, which leaves every session behind. One advice for both now
 * (SessionFileError.advice).
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { Secret } from "../../../src/config/secret.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";

Deno.test("runProbe() fails a lock file that is no database with the start's advice: remove it, the sessions are kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "probe-lock-advice-" });
  try {
    const path = `${dir}/sessions.sqlite`;
    await Deno.writeTextFile(`${path}.lock`, "not a database ".repeat(20));

    const config = await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`);
    const results = await runProbe(config, listenFree);
    const store = results.find((result) => result.check === "session store");
    assert(store !== undefined, formatResults(results));
    assertEquals(store.ok, false, store.detail);
    assertEquals(
      store.fix,
      `With no service running on ${path}, remove ${path}.lock (the service makes it again; ` +
        "the sessions are kept).",
    );

    const start = await assertRejects(
      () =>
        openSessionStore(
          sessionsConfig({ backend: "file", path }),
          new Secret("h"),
          () => 0,
          { owner: true },
        ),
      Error,
    );
    assert(
      start.message.endsWith(`; ${store.fix.charAt(0).toLowerCase()}${store.fix.slice(1, -1)}`),
      `the start says otherwise: ${start.message}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
