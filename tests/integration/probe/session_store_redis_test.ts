/**
 * `check-config --probe` against a real redis-server with a password: the probe connects,
 * authenticates, selects the database and sends PING with the store's own connection code, and
 * tells a refused password from an unreachable server, naming the keys to change. The service
 * stops at start on each of these (before, the probe passed them all).
 */
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { freePort } from "../../support/free_port.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { type CheckResult, formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";

const PASSWORD = "redis-probe-password";

/** The probe's session store check of `sessions` (a Redis store), and all its results printed. */
async function storeResult(sessions: string): Promise<{ store: CheckResult; printed: string }> {
  const config = await probedConfig(`backend = "redis"\nstore_timeout = "1s"\n${sessions}`, "");
  const results = await runProbe(config, listenFree);
  const store = results.find((result) => result.check === "session store");
  assert(store !== undefined, formatResults(results));
  return { store, printed: formatResults(results) };
}

Deno.test("probe: Redis without the password it asks for, or with a wrong one, fails naming sessions.password_file", async () => {
  const server = await RedisServer.start({
    password: PASSWORD,
    aclUsers: [{ name: "bridge", password: "bridge-password" }],
    // Keeps deletes through a crash: the right password passes without a warning.
    extraArgs: ["--appendonly", "yes"],
  });
  try {
    const where = `redis://127.0.0.1:${server.port}/0`;
    const none = (await storeResult(`url = "${server.url}"`)).store;
    assertEquals(none.ok, false);
    assertMatch(none.detail, new RegExp(`^${where}: NOAUTH `));
    assertMatch(none.fix!, /^Redis asks for a password: set sessions\.password_file/);

    const wrong = await storeResult(`url = "${server.url}"\npassword = "not-the-password"`);
    assertEquals(wrong.store.ok, false);
    assertMatch(wrong.store.detail, new RegExp(`^${where}: WRONGPASS `));
    assertMatch(
      wrong.store.fix!,
      /refused the user name or password: set sessions\.password_file .*default user .*sessions\.username/,
    );
    assert(!/unreachable/i.test(wrong.store.detail), wrong.store.detail);
    assert(!wrong.printed.includes("not-the-password"), wrong.printed);

    const user = await storeResult(
      `url = "${server.url}"\nusername = "bridge"\npassword = "not-the-password"`,
    );
    assertMatch(user.store.fix!, /the password of the ACL user "bridge"/);

    const right = (await storeResult(`url = "${server.url}"\npassword = "${PASSWORD}"`)).store;
    assertEquals(
      [right.ok, right.detail],
      [true, `${where}: connected, database selected, PING answered`],
    );
    const other = await storeResult(
      `url = "${server.url}"\nusername = "bridge"\npassword = "bridge-password"`,
    );
    assertEquals(other.store.ok, true, other.printed);
  } finally {
    await server.dispose();
  }
});

Deno.test("probe: Redis not running fails as unreachable, naming sessions.url", async () => {
  const closed = await freePort();
  const { store } = await storeResult(`url = "redis://127.0.0.1:${closed}/0"`);
  assertEquals(store.ok, false);
  assertMatch(store.detail, new RegExp(`^redis://127\\.0\\.0\\.1:${closed}/0: .*ECONNREFUSED`));
  assertMatch(store.fix!, /^Start Redis, or set sessions\.url to where it listens/);
});

Deno.test("probe: a database Redis does not have fails naming sessions.url", async () => {
  const server = await RedisServer.start();
  try {
    const url = server.url.replace(/\/0$/, "/99");
    const { store } = await storeResult(`url = "${url}"`);
    assertEquals(store.ok, false);
    assertMatch(store.detail, /: ERR DB index is out of range$/);
    assertMatch(store.fix!, /^Check sessions\.url \(its database must exist/);
  } finally {
    await server.dispose();
  }
});
