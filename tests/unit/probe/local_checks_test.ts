/**
 * `check-config --probe` on what the service opens at start besides its listeners: the file
 * store (sessions.path's directory, its files, the owner lock) and control.socket's directory.
 * Both used to pass the probe and then stop the service in a restart loop with a bare EACCES.
 * Tests run as root in CI, where every directory is writable: an open that fails even for root
 * is a path below a regular file (ENOTDIR).
 */
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { runUnderBun } from "../../support/bun_child.ts";
import { listenFree, offline, probedConfig } from "../../support/probed_config.ts";
import { type CheckResult, formatResults } from "../../../src/probe/checks.ts";
import { controlSocketCheck, sessionFileCheck } from "../../../src/probe/local_checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";

/** http.listen held by the running service: its /healthz answers as the service's. */
const serviceRuns = {
  fetch: offline,
  serve: () => Promise.reject(Object.assign(new Error("Address in use"), { code: "EADDRINUSE" })),
  askListen: () => Promise.resolve({ kind: "answered" as const, status: 200, body: "ok" }),
};

function resultOf(results: CheckResult[], check: string): CheckResult {
  const result = results.find((candidate) => candidate.check === check);
  assert(result !== undefined, formatResults(results));
  return result;
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-local-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
const openOwner = (path: string) =>
  SqliteStore.open({ path, cipher, maxEntries: 100, now: Date.now, owner: true });

Deno.test("runProbe() fails a sessions.path the service cannot create (below a regular file), naming the key", () =>
  withDir(async (dir) => {
    const file = `${dir}/not-a-directory`;
    await Deno.writeTextFile(file, "");
    for (
      const [path, found] of [
        [`${file}/sessions.sqlite`, `${file} is not a directory`],
        [`${file}/state/sessions.sqlite`, `${file}/state cannot be created: ${file} is not a`],
      ]
    ) {
      const results = await runProbe(
        await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`),
        listenFree,
      );
      const store = resultOf(results, "session store");
      assertEquals(store.ok, false, formatResults(results));
      assert(store.detail.startsWith(`sessions.path ${path}: ${found}`), store.detail);
      assertMatch(store.fix!, /make it a directory the service user can write.*set sessions\.path/);
      // The file is not made a directory, nor anything created below it.
      assertEquals((await Deno.stat(file)).isFile, true);
    }
  }));

Deno.test("runProbe() passes a sessions.path it can create, takes a free owner lock and lets it go", () =>
  withDir(async (dir) => {
    const path = `${dir}/state/sessions.sqlite`;
    const config = await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`);
    const fresh = resultOf(await runProbe(config, listenFree), "session store");
    assertEquals(fresh.ok, true);
    assertEquals(
      fresh.detail,
      `${path}: ${dir}/state does not exist yet; this user can create it in ${dir}`,
    );
    // Nothing made: run as root, a directory made here would be root's.
    assertEquals(await Deno.stat(`${dir}/state`).catch(() => undefined), undefined);

    await (await openOwner(path)).close();
    const used = resultOf(await runProbe(config, listenFree), "session store");
    assertEquals(used.ok, true);
    assertEquals(
      used.detail,
      `${path}: this user can create files in ${dir}/state; the owner lock can be taken`,
    );
    // Let go again: the service starts.
    await (await openOwner(path)).close();
  }));

Deno.test("runProbe() takes a held session lock for the running service's, fails it without one, and leaves it held", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    const config = await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`);
    const store = await openOwner(path);
    try {
      const running = resultOf(await runProbe(config, serviceRuns), "session store");
      assertEquals(
        [running.ok, running.detail],
        [true, `${path} is in use by the running service (it holds ${path}.lock)`],
      );
      const other = resultOf(await runProbe(config, listenFree), "session store");
      assertEquals(other.ok, false);
      assertMatch(other.detail, /is in use by another openvpn-auth-oidc process/);
      assertMatch(other.fix!, /own sessions\.path/);
      const child = new URL("../sessions/_owner_lock_child.ts", import.meta.url);
      const taken = await runUnderBun(child, [path]) as { locked: boolean };
      assertEquals(taken.locked, false, "the probe let another process take the service's lock");
    } finally {
      await store.close();
    }
  }));

Deno.test("runProbe() fails a control.socket whose directory cannot be created, naming the key", () =>
  withDir(async (dir) => {
    const file = `${dir}/not-a-directory`;
    await Deno.writeTextFile(file, "");
    const socket = `${file}/run/control.sock`;
    const results = await runProbe(
      await probedConfig('backend = "memory"', socket),
      listenFree,
    );
    const control = resultOf(results, "control socket");
    assertEquals(control.ok, false, formatResults(results));
    assertEquals(
      control.detail,
      `control.socket ${socket}: ${file}/run cannot be created: ${file} is not a directory`,
    );
    assertMatch(control.fix!, /RuntimeDirectory=.*set control\.socket/);
    // The memory store has nothing to check.
    assert(!results.some((result) => result.check === "session store"), formatResults(results));
  }));

Deno.test("runProbe() passes a control.socket it can create, and fails one the service would refuse", () =>
  withDir(async (dir) => {
    const socket = `${dir}/run/control.sock`;
    const config = await probedConfig('backend = "memory"', socket);
    const fine = resultOf(await runProbe(config, listenFree), "control socket");
    assertEquals(
      [fine.ok, fine.detail],
      [true, `${socket}: ${dir}/run does not exist yet; this user can create it in ${dir}`],
    );

    await Deno.mkdir(`${dir}/run`);
    await Deno.chmod(`${dir}/run`, 0o777);
    const open = resultOf(await runProbe(config, listenFree), "control socket");
    assertEquals(open.ok, false);
    assertMatch(open.detail, /the service refuses .*\/run: it is writable by every user$/);

    await Deno.chmod(`${dir}/run`, 0o750);
    await Deno.writeTextFile(socket, "");
    const file = resultOf(await runProbe(config, listenFree), "control socket");
    assertEquals([file.ok, file.detail], [
      false,
      `control.socket ${socket} exists and is not a socket`,
    ]);
  }));

Deno.test("controlSocketCheck() only warns about the packaged runtime directory missing: systemd makes it at each start", () => {
  const state = {
    socket: "/run/openvpn-auth-oidc/control.sock",
    directory: "/run/openvpn-auth-oidc",
    directoryAccess: { kind: "denied" as const, at: "/run", missing: true, code: "EACCES" },
    unsafe: undefined,
    existing: "none" as const,
  };
  const packaged = controlSocketCheck(state);
  assertEquals([packaged.ok, packaged.warning], [true, true]);
  assertMatch(
    packaged.detail,
    /cannot create it in \/run \(EACCES\); the packaged unit's RuntimeDirectory= makes it/,
  );
  assert(formatResults([packaged]).startsWith("warn  control socket  "));
  // Any other directory is the admin's to make.
  const other = controlSocketCheck({
    ...state,
    socket: "/run/openvpn-auth-oidc-F/control.sock",
    directory: "/run/openvpn-auth-oidc-F",
  });
  assertEquals(other.ok, false);
  assertEquals(
    other.detail,
    "control.socket /run/openvpn-auth-oidc-F/control.sock: /run/openvpn-auth-oidc-F does not " +
      "exist, and this user cannot create it in /run (EACCES)",
  );
});

Deno.test("controlSocketCheck() fails the packaged runtime directory when it exists and this user cannot write it", () => {
  const result = controlSocketCheck({
    socket: "/run/openvpn-auth-oidc/control.sock",
    directory: "/run/openvpn-auth-oidc",
    directoryAccess: {
      kind: "denied",
      at: "/run/openvpn-auth-oidc",
      missing: false,
      code: "EACCES",
    },
    unsafe: undefined,
    existing: "none",
  });
  // systemd makes it only when missing: one that is there and denied stops the service.
  assertEquals([result.ok, result.warning], [false, undefined]);
  assertEquals(
    result.detail,
    "control.socket /run/openvpn-auth-oidc/control.sock: this user cannot create files in " +
      "/run/openvpn-auth-oidc (EACCES)",
  );
});

Deno.test("sessionFileCheck() fails an owner lock that cannot be taken, whether or not the service runs", () => {
  const state = {
    path: "/var/lib/x/sessions.sqlite",
    directory: "/var/lib/x",
    directoryAccess: { kind: "writable" as const },
    lockFile: "/var/lib/x/sessions.sqlite.lock",
    unusable: [],
    notDatabase: false,
    lock: {
      kind: "failed" as const,
      message: "attempt to write a readonly database",
      advice: undefined,
    },
  };
  for (const serviceRunning of [false, true]) {
    const result = sessionFileCheck(state, serviceRunning);
    assertEquals(result.ok, false, formatResults([result]));
    assertEquals(
      result.detail,
      "sessions.path /var/lib/x/sessions.sqlite: the owner lock on " +
        "/var/lib/x/sessions.sqlite.lock cannot be taken: attempt to write a readonly database",
    );
  }
});

Deno.test("runProbe() takes no owner lock in an existing directory without the store's files: it creates nothing", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    const config = await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`);
    const store = resultOf(await runProbe(config, listenFree), "session store");
    assertEquals([store.ok, store.detail], [true, `${path}: this user can create files in ${dir}`]);
    // Run as root, a lock file made here would be root's, and the service's user could not take it.
    const left = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assertEquals(left, []);
  }));
