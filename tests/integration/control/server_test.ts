/**
 * The control socket over a real unix socket: permissions, refusals at start, bad requests
 * (answered with an error, nothing changed), and list/revoke reaching the sessions and the
 * OpenVPN server's commander.
 */
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { rawControlRequest } from "../../support/control_socket.ts";
import { testRevocation } from "../../support/revocation_fixture.ts";
import { sendControlRequest, ServiceNotRunningError } from "../../../src/control/client.ts";
import { MAX_REQUEST_BYTES, ROWS_PER_PIECE } from "../../../src/control/protocol.ts";
import { startControlServer, unsafeDirectoryProblem } from "../../../src/control/server.ts";
import { getLogger } from "../../../src/log.ts";
import type { RevocationTarget } from "../../../src/bridge/revocation.ts";
import { logsOf } from "../../support/log_capture.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { pendingLogin, session, T0 } from "../../unit/sessions/fixtures.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

async function setup(options: { requestTimeoutMs?: number; maxEntries?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "control-test-"));
  const path = join(dir, "run", "control.sock");
  const store = new MemoryStore({ maxEntries: options.maxEntries ?? 100, now: () => T0 });
  const { revocation, commander } = testRevocation({
    store,
    verifyLogoutToken: () => Promise.reject(new Error("unused")),
  });
  await store.putSession(session({ sessionId: "a", cid: 7, clientIp: "192.0.2.10" }));
  await store.putSession(session({ sessionId: "b", cid: undefined, createdAt: T0 + 1 }));
  await store.putSession(
    session({ sessionId: "c", cid: 8, username: "bob", subject: "u-2", createdAt: T0 + 2 }),
  );
  await store.putPending(pendingLogin({ id: "secret-login-id", createdAt: T0 - 42_000 }));
  const deps = {
    store,
    revocation,
    now: () => T0,
    log: getLogger("test"),
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.requestTimeoutMs }),
  };
  const server = await startControlServer(path, deps);
  const cleanup = async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, path, store, commander, server, deps, cleanup };
}

async function ids(store: MemoryStore): Promise<string[]> {
  return (await collectPages(store.sessionPages())).map((s) => s.sessionId).sort();
}

Deno.test("control socket: a unix socket with mode 0660 in a directory it created", async () => {
  const t = await setup();
  try {
    const stat = statSync(t.path);
    assert(stat.isSocket());
    assertEquals(stat.mode & 0o777, 0o660);
    assertEquals(statSync(join(t.dir, "run")).mode & 0o777, 0o750);
  } finally {
    await t.cleanup();
  }
  assertEquals(existsSync(t.path), false, "close() removes the socket");
});

Deno.test("control socket: under the unit's UMask=0077 it still creates missing directories 0750, and changes no existing one", async () => {
  const t = await setup();
  const parent = mkdtempSync(join(tmpdir(), "control-test-"));
  const existing = join(parent, "existing");
  const previous = process.umask(0o077);
  try {
    chmodSync(parent, 0o711);
    const created = await startControlServer(join(parent, "ctl", "sub", "control.sock"), t.deps);
    await created.close();
    mkdirSync(existing, { mode: 0o700 });
    const inExisting = await startControlServer(join(existing, "control.sock"), t.deps);
    await inExisting.close();
  } finally {
    process.umask(previous);
    await t.cleanup();
  }
  try {
    assertEquals(statSync(join(parent, "ctl")).mode & 0o777, 0o750, "first created directory");
    assertEquals(statSync(join(parent, "ctl", "sub")).mode & 0o777, 0o750, "socket's directory");
    assertEquals(statSync(parent).mode & 0o777, 0o711, "the parent that existed");
    assertEquals(statSync(existing).mode & 0o777, 0o700, "a socket directory that existed");
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

Deno.test("control socket: sessions.list answers every live session without tokens", async () => {
  const t = await setup();
  try {
    const answer = await sendControlRequest(t.path, { command: "sessions.list" });
    assert(answer.ok && "sessions" in answer);
    assertEquals(answer.sessions.map((s) => s.sessionId), ["a", "b", "c"]);
    assertEquals(answer.sessions[0], {
      sessionId: "a",
      username: "alice",
      subject: "u-1",
      server: "vpn1",
      cid: 7,
      commonName: "alice-laptop",
      clientIp: "192.0.2.10",
      createdAt: new Date(T0).toISOString(),
      lastAuthAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 8 * 3_600_000).toISOString(),
    });
    assertEquals(answer.sessions[1]?.cid, null);
    assertEquals(answer.sessions[1]?.clientIp, null);
    assertEquals(JSON.stringify(answer).includes("refresh-token"), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a list longer than a piece of its answer arrives whole", async () => {
  const count = 2 * ROWS_PER_PIECE + 300;
  const t = await setup({ maxEntries: count + 10 });
  try {
    for (let i = 0; i < count; i++) {
      await t.store.putSession(session({ sessionId: `many-${i}`, createdAt: T0 - i }));
    }
    const answer = await sendControlRequest(t.path, { command: "sessions.list" });
    assert(answer.ok && "sessions" in answer);
    const many = answer.sessions.map((s) => s.sessionId).filter((id) => id.startsWith("many-"));
    assertEquals(many, Array.from({ length: count }, (_, i) => `many-${i}`));
    assertEquals(answer.sessions.length, count + 3);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: sessions.list of a store that cannot be read is an error answer", async () => {
  const t = await setup();
  try {
    await t.store.close();
    const answer = await sendControlRequest(t.path, { command: "sessions.list" });
    assertEquals(answer, { ok: false, error: "Internal error; see the service log" });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: logins.list shows sign-ins in progress, never their login ids", async () => {
  const t = await setup();
  try {
    const answer = await sendControlRequest(t.path, { command: "logins.list" });
    assert(answer.ok && "logins" in answer);
    assertEquals(answer.logins, [{
      server: "vpn1",
      cid: 7,
      commonName: "alice-laptop",
      clientIp: "192.0.2.10",
      ageSec: 42,
      createdAt: new Date(T0 - 42_000).toISOString(),
    }]);
    assertEquals(JSON.stringify(answer).includes("secret-login-id"), false);
    assertEquals(JSON.stringify(answer).includes("state-1"), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: sessions.revoke ends the user's sessions and kills their clients", async () => {
  const t = await setup();
  try {
    const answer = await sendControlRequest(t.path, {
      command: "sessions.revoke",
      target: { kind: "user", username: "alice" },
    });
    assertEquals(answer, { ok: true, ended: 2, stillConnected: [] });
    assertEquals(await ids(t.store), ["c"]);
    assertEquals(t.commander.commands, [{
      kind: "kill",
      cid: 7,
      message: "RESTART,An administrator ended your VPN session",
    }]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a revoke's log line names whom it revokes, as a quoted value", async () => {
  const t = await setup();
  try {
    const targets: RevocationTarget[] = [
      { kind: "user", username: "bob" },
      { kind: "subject", subject: "u-9" },
      { kind: "session", sessionId: "a" },
    ];
    const lines = await logsOf(async () => {
      for (const target of targets) {
        await sendControlRequest(t.path, { command: "sessions.revoke", target });
      }
    });
    const asked = lines.filter((line) => line.text.startsWith("Control: "));
    assertEquals(asked.map((line) => line.text), [
      "Control: revoke of user bob requested",
      "Control: revoke of subject u-9 requested",
      "Control: revoke of session a requested",
    ]);
    assertEquals(asked.map((line) => line.properties.kind), ["user", "subject", "session"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a client that ends its side after the request still gets the answer (socat, nc -N)", async () => {
  const t = await setup({ requestTimeoutMs: 60_000 });
  try {
    // The kill takes a while: the answer is not ready in the turn the client's end arrives.
    const kill = t.commander.kill.bind(t.commander);
    t.commander.kill = async (cid, message, run) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return await kill(cid, message, run);
    };
    const revoke = '{"command":"sessions.revoke","user":"alice"}';
    assertEquals(JSON.parse(await rawControlRequest(t.path, `${revoke}\n`, { halfClose: true })), {
      ok: true,
      ended: 2,
      stillConnected: [],
    });
    // Without the newline, the end of what it sent ends the request.
    const list = JSON.parse(
      await rawControlRequest(t.path, '{"command":"sessions.list"}', { halfClose: true }),
    );
    assertEquals(list.ok, true);
    // Nothing sent: told at once, not after the request timeout (a minute here).
    assertEquals(JSON.parse(await rawControlRequest(t.path, "", { halfClose: true })), {
      ok: false,
      error: "No request received",
    });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket client: a socket file nothing listens on (a killed service's) means the service is not running", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-test-"));
  try {
    const listening = join(dir, "control.sock");
    const stale = join(dir, "stale.sock");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(listening, resolve));
    // A second name for the socket outlives close(), which removes the first: connecting to it is
    // refused (ECONNREFUSED), as on the socket file a service killed with SIGKILL leaves.
    linkSync(listening, stale);
    await new Promise((resolve) => server.close(resolve));
    await assertRejects(
      () => sendControlRequest(stale, { command: "sessions.list" }),
      ServiceNotRunningError,
      `The service is not running: nothing listens on ${stale}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const CLIENT_MODULE = new URL("../../../src/control/client.ts", import.meta.url).href;

/** Runs the admin side's sessions.list on `path` as user nobody (with `groups`, or none). */
async function listAsNobody(path: string, groups: number[]): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "control-nobody-"));
  chmodSync(home, 0o777);
  try {
    const script = `const { sendControlRequest } = await import(${JSON.stringify(CLIENT_MODULE)});
      try { const a = await sendControlRequest(Deno.args[0], { command: "sessions.list" });
      console.log(a.ok ? "ok" : a.error); } catch (e) { console.log(e.message); }`;
    const output = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        groups.length > 0 ? `--groups=${groups.join(",")}` : "--clear-groups",
        Deno.execPath(),
        "eval",
        script,
        path,
      ],
      env: { HOME: home, DENO_DIR: join(home, "deno"), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
    return decode(output.stdout) || decode(output.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

Deno.test({
  name:
    "control socket: a user outside the socket's group is told to use root or the group, even in a world-enterable directory; a group member is answered",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const t = await setup();
    try {
      chmodSync(t.dir, 0o755);
      chmodSync(join(t.dir, "run"), 0o755);
      assertEquals(
        await listAsNobody(t.path, []),
        `No permission to use ${t.path}: run as root or in the service's group`,
      );
      assertEquals(await listAsNobody(t.path, [statSync(t.path).gid]), "ok");
    } finally {
      await t.cleanup();
    }
  },
});

const badRequests: Array<[string, string, string]> = [
  ["not JSON", "sessions.revoke everything\n", "not JSON"],
  ["an unknown command", '{"command":"sessions.purge"}\n', "Unknown command"],
  ["a revoke without a target", '{"command":"sessions.revoke"}\n', "exactly one"],
  ["an oversized line", `{"command":"sessions.revoke","user":"${"a".repeat(5000)}"}\n`, "longer"],
  ["an endless line", "x".repeat(MAX_REQUEST_BYTES + 10), "longer"],
];

for (const [name, bytes, message] of badRequests) {
  Deno.test(`control socket: ${name} gets an error and changes nothing`, async () => {
    const t = await setup();
    try {
      const answer = JSON.parse(await rawControlRequest(t.path, bytes));
      assertEquals(answer.ok, false);
      assertStringIncludes(answer.error, message);
      assertEquals(await ids(t.store), ["a", "b", "c"]);
      assertEquals(t.commander.commands, []);
    } finally {
      await t.cleanup();
    }
  });
}

/** A valid sessions.list request padded with spaces (JSON ignores them) to `bytes` bytes. */
const paddedList = (bytes: number) => '{"command":"sessions.list"}'.padEnd(bytes, " ");

Deno.test("control socket: a request line of MAX_REQUEST_BYTES is read, one byte more is refused even when its JSON is valid", async () => {
  const t = await setup();
  try {
    const atLimit = JSON.parse(
      await rawControlRequest(t.path, paddedList(MAX_REQUEST_BYTES) + "\n"),
    );
    assertEquals(atLimit.ok, true, JSON.stringify(atLimit).slice(0, 100));
    // The newline comes in a later chunk: the line waited for it whole.
    const inParts = JSON.parse(
      await rawControlRequest(t.path, [paddedList(MAX_REQUEST_BYTES), "\n"]),
    );
    assertEquals(inParts.ok, true, JSON.stringify(inParts).slice(0, 100));
    const over = paddedList(MAX_REQUEST_BYTES + 1);
    assertEquals(JSON.parse(await rawControlRequest(t.path, over + "\n")), {
      ok: false,
      error: `Request longer than ${MAX_REQUEST_BYTES} bytes`,
    });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a line past MAX_REQUEST_BYTES with no newline yet is refused at once, not left to the request timeout", async () => {
  const t = await setup({ requestTimeoutMs: 2_000 });
  try {
    const started = Date.now();
    const answer = JSON.parse(await rawControlRequest(t.path, [paddedList(MAX_REQUEST_BYTES + 1)]));
    assertEquals(answer, { ok: false, error: `Request longer than ${MAX_REQUEST_BYTES} bytes` });
    assert(Date.now() - started < 1_000, "answered before the request timeout");
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a connection that sends no request is answered with an error and closed", async () => {
  const t = await setup({ requestTimeoutMs: 100 });
  try {
    const answer = JSON.parse(await rawControlRequest(t.path, ""));
    assertEquals(answer, { ok: false, error: "No request received in time" });
    assertEquals(await ids(t.store), ["a", "b", "c"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: refuses a world-writable directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-test-"));
  try {
    chmodSync(dir, 0o777);
    const t = await setup();
    await t.cleanup();
    await assertRejects(
      () => startControlServer(join(dir, "control.sock"), t.deps),
      Error,
      "writable by every user",
    );
    assertEquals(existsSync(join(dir, "control.sock")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("control socket: refuses a group-writable directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-test-"));
  try {
    chmodSync(dir, 0o770);
    const t = await setup();
    await t.cleanup();
    await assertRejects(
      () => startControlServer(join(dir, "control.sock"), t.deps),
      Error,
      "writable by its group",
    );
    assertEquals(existsSync(join(dir, "control.sock")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("control socket directory: only root or the service's user may own it, nobody else write to it", () => {
  const problems = [
    [{ mode: 0o40750, uid: 1000 }, 1000],
    [{ mode: 0o40750, uid: 0 }, 1000],
    [{ mode: 0o40700, uid: 0 }, 0],
    [{ mode: 0o40750, uid: 1001 }, 1000],
    [{ mode: 0o40770, uid: 1000 }, 1000],
    [{ mode: 0o41777, uid: 0 }, 1000],
  ].map(([directory, uid]) =>
    unsafeDirectoryProblem(directory as { mode: number; uid: number }, uid as number)
  );
  assertEquals(problems, [
    undefined,
    undefined,
    undefined,
    "it belongs to uid 1001, neither root nor this service's user (1000)",
    "it is writable by its group",
    "it is writable by every user",
  ]);
});

Deno.test("control socket: refuses a path that is a regular file, and leaves the file", async () => {
  const t = await setup();
  await t.server.close();
  try {
    writeFileSync(t.path, "not a socket");
    await assertRejects(() => startControlServer(t.path, t.deps), Error, "is not a socket");
    assertEquals(existsSync(t.path), true);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: refuses a socket another instance is listening on", async () => {
  const t = await setup();
  try {
    await assertRejects(() => startControlServer(t.path, t.deps), Error, "is in use");
    const answer = await sendControlRequest(t.path, { command: "sessions.list" });
    assertEquals(answer.ok, true, "the running instance keeps its socket");
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: replaces a stale socket left by a killed process", async () => {
  const t = await setup();
  await t.server.close();
  // A process killed with SIGKILL leaves its socket file behind.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      // Accepting keeps the child alive: a bare pending promise lets Deno exit (and remove the
      // socket) before the kill.
      `const listener = Deno.listen({ transport: "unix", path: ${JSON.stringify(t.path)} });
      console.log("up"); for await (const _ of listener) {}`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  try {
    assert(statSync(t.path).isSocket(), "a stale socket file is left behind");
    const again = await startControlServer(t.path, t.deps);
    try {
      assertEquals((await sendControlRequest(t.path, { command: "logins.list" })).ok, true);
    } finally {
      await again.close();
    }
  } finally {
    await t.cleanup();
  }
});
