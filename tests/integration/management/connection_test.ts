import { inspect } from "node:util";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { clientDeny, status3 } from "../../../src/management/commands.ts";
import {
  type ConnectionEvent,
  ManagementConnection,
  type ManagementConnectionOptions,
} from "../../../src/management/connection.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { systemClock } from "../../../src/clock.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { clientBlockLines, STARTED_AT } from "../../support/openvpn_side.ts";

type Options = Partial<ManagementConnectionOptions>;

/** A connection to `server` that records its events. */
function connect(server: FakeManagementServer, options: Options = {}) {
  const connection = new ManagementConnection({
    address: server.address,
    commandTimeoutMs: 2000,
    reconnectMinDelayMs: 10,
    reconnectMaxDelayMs: 100,
    clock: systemClock,
    ...options,
  });
  const events: ConnectionEvent[] = [];
  const waiters: Array<
    { test: (event: ConnectionEvent) => boolean; resolve: (event: ConnectionEvent) => void }
  > = [];
  connection.onEvent((event) => {
    events.push(event);
    for (const waiter of waiters.splice(0)) {
      if (waiter.test(event)) waiter.resolve(event);
      else waiters.push(waiter);
    }
  });
  /** Resolves with the `nth` (1-based, counting past ones) event that matches. */
  const next = async (
    test: (event: ConnectionEvent) => boolean,
    nth = 1,
  ): Promise<ConnectionEvent> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        new Promise<ConnectionEvent>((resolve) => {
          const check = () => {
            const matches = events.filter(test);
            if (matches.length >= nth) resolve(matches[nth - 1]!);
            else waiters.push({ test, resolve: () => check() });
          };
          check();
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`Event not seen; got ${events.map((event) => event.type).join(", ")}`),
              ),
            5000,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  connection.start();
  return { connection, events, next };
}

const isType = (type: ConnectionEvent["type"]) => (event: ConnectionEvent) => event.type === type;

Deno.test("connects over TCP, learns management version 5 and answers commands", async () => {
  const server = await FakeManagementServer.start();
  const { connection, next } = connect(server);
  try {
    assertEquals(await next(isType("connected")), {
      type: "connected",
      managementVersion: 5,
      // What names OpenVPN's run (openvpn_run.ts), as the stand-in tells it.
      openvpnPid: 4242,
      openvpnStates: [
        { time: STARTED_AT, state: "CONNECTING" },
        { time: STARTED_AT, state: "ASSIGN_IP" },
        { time: STARTED_AT, state: "CONNECTED" },
      ],
    });
    assertEquals(connection.status(), { linkUp: true, managementVersion: 5, lastError: undefined });
    assertEquals(server.received.slice(0, 5), ["version", "pid", "state on", "state all", "hold"]);
    const reply = await connection.send(status3());
    assert(reply.type === "lines");
    assert(reply.lines[0]?.startsWith("TITLE\t"));
  } finally {
    await connection.close();
    await server.stop();
  }
  assertEquals(connection.status().linkUp, false);
});

Deno.test("connects over a unix socket with a password, sending it before anything else", async () => {
  const server = await FakeManagementServer.start({ transport: "unix", password: "s3cret pw" });
  const { connection, next } = connect(server, { password: new Secret("s3cret pw") });
  try {
    await next(isType("connected"));
    assertEquals(server.received.slice(0, 3), ["s3cret pw", "version", "pid"]);
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a wrong password fails with a clear error and waits the longest delay before retrying", async () => {
  const server = await FakeManagementServer.start({ password: "right" });
  // Time stands still: the reconnect is armed but never fires.
  const clock = new FakeClock();
  const { connection, next } = connect(server, {
    password: new Secret("wrong"),
    reconnectMaxDelayMs: 60_000,
    clock,
  });
  try {
    const failed = await next(isType("connect-failed"));
    assert(failed.type === "connect-failed");
    assertEquals(
      failed.error.message,
      "Management password rejected: OpenVPN asked for it again",
    );
    assertEquals(failed.error.code, "password-rejected");
    assertEquals(connection.status().lastError, failed.error.message);
    assertEquals(clock.delays.at(-1), 60_000, `timer delays: ${clock.delays.join(", ")}`);
    assertEquals(server.received.filter((line) => line === "wrong").length, 1);
    assertEquals(inspect(failed.error).includes("wrong"), false, "never the password");
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a password prompt without a configured password fails the attempt", async () => {
  const server = await FakeManagementServer.start({ password: "right" });
  const { connection, next } = connect(server);
  try {
    const failed = await next(isType("connect-failed"));
    assert(failed.type === "connect-failed");
    assertEquals(failed.error.code, "password-required");
    assertEquals(server.received, []);
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("releases a hold reported by >HOLD before reporting the link up", async () => {
  const server = await FakeManagementServer.start({ hold: true });
  const { connection, next, events } = connect(server);
  try {
    await next(isType("connected"));
    assert(server.holdReleased);
    assertEquals(server.received.filter((line) => line === "hold release").length, 1);
    // The events that came during the handshake follow `connected`.
    await next(isType("hold"));
    assertEquals(events.map((event) => event.type).slice(0, 3), ["connected", "info", "hold"]);
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("pipelined commands are answered in order even when all replies come in one write", async () => {
  const server = await FakeManagementServer.start();
  const { connection, next } = connect(server);
  try {
    await next(isType("connected"));
    const held: string[] = [];
    server.respond = (command) => {
      if (!command.startsWith("client-deny")) return "default";
      held.push(command);
      if (held.length === 10) {
        server.sendLines(
          held.map((line, i) => i === 3 ? "ERROR: client-deny command failed" : `SUCCESS: ${line}`),
        );
      }
      return "none";
    };
    const commands = Array.from({ length: 10 }, (_, i) => clientDeny(i, 1, `reason ${i}`));
    const replies = await Promise.all(commands.map((command) => connection.send(command)));
    assertEquals(
      replies.map((reply) => (reply.type === "lines" ? "" : reply.message)),
      commands.map((command, i) => (i === 3 ? "client-deny command failed" : command.text)),
    );
    assertEquals(replies[3]?.type, "error");
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("replies interleaved with >CLIENT blocks reach their commands and the blocks become events", async () => {
  const server = await FakeManagementServer.start();
  const { connection, next } = connect(server);
  try {
    await next(isType("connected"));
    const block = clientBlockLines("CONNECT", 7, 1, { common_name: "alice", password: "pw" });
    server.respond = (command) => {
      if (command === "status 3") return ["TITLE\tx", ...block, "GLOBAL_STATS\ty", "END"];
      if (command.startsWith("client-deny")) {
        return [
          ...clientBlockLines("REAUTH", 7, 2, { a: "b" }),
          "SUCCESS: client-deny command succeeded",
        ];
      }
      return "default";
    };
    const [status, deny] = await Promise.all([
      connection.send(status3()),
      connection.send(clientDeny(1, 1, "x")),
    ]);
    assertEquals(status, {
      ticket: status.ticket,
      type: "lines",
      lines: ["TITLE\tx", "GLOBAL_STATS\ty"],
      truncated: false,
    });
    assertEquals(deny, {
      ticket: deny.ticket,
      type: "success",
      message: "client-deny command succeeded",
    });
    const connectEvent = await next(isType("client-connect"));
    assert(connectEvent.type === "client-connect");
    assertEquals([connectEvent.cid, connectEvent.kid, connectEvent.env.get("common_name")], [
      7,
      1,
      "alice",
    ]);
    await next(isType("client-reauth"));
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a socket closed mid-block emits no half block, then the client reconnects", async () => {
  const server = await FakeManagementServer.start();
  const { connection, next, events } = connect(server);
  try {
    await next(isType("connected"));
    const lines = clientBlockLines("CONNECT", 3, 1, {
      common_name: "bob",
      untrusted_ip: "10.0.0.2",
    });
    server.sendLines(lines.slice(0, 2));
    await server.closeClient();
    await next(isType("disconnected"));
    assertEquals(connection.status().linkUp, false);
    await next(isType("connected"), 2);
    assertEquals(events.filter(isType("client-connect")), []);
    server.sendClientBlock("CONNECT", 4, 1, { common_name: "bob" });
    const event = await next(isType("client-connect"));
    assert(event.type === "client-connect");
    assertEquals(event.cid, 4);
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a server restart fails the pending command, emits disconnected and connected again", async () => {
  const server = await FakeManagementServer.start({ transport: "unix" });
  const { connection, next, events } = connect(server);
  try {
    await next(isType("connected"));
    server.respond = (command) => (command === "status 3" ? "none" : "default");
    // Settled into a value at once: the rejection comes while the test awaits the restart.
    const outcome = connection.send(status3()).then(() => undefined, (error: unknown) => error);
    await server.waitForLine("status 3");
    await server.restart();
    const error = await outcome;
    assert(error instanceof ManagementConnectionError);
    assertEquals([error.code, error.message], [
      "disconnected",
      "Management connection lost before the reply: status",
    ]);
    assert(error.cause instanceof ManagementConnectionError, "why the link ended");
    assertEquals(error.cause.code, "disconnected");
    await next(isType("disconnected"));
    await next(isType("connected"), 2);
    assertEquals(server.connections >= 2, true);
    const sequence = events.filter((event) =>
      event.type === "connected" || event.type === "disconnected"
    );
    assertEquals(sequence.map((event) => event.type).slice(0, 3), [
      "connected",
      "disconnected",
      "connected",
    ]);
    server.respond = undefined;
    assertEquals((await connection.send(status3())).type, "lines");
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a status OpenVPN leaves unanswered (2.7 with DCO) drops the link: the commands after it end unanswered, and it reconnects", async () => {
  const server = await FakeManagementServer.start({ transport: "unix" });
  const { connection, next } = connect(server);
  try {
    await next(isType("connected"));
    server.respond = (command) => (command === "status 3" ? "none" : "default");
    const settled = (promise: Promise<unknown>) =>
      promise.then(() => undefined, (error: unknown) => error);
    const status = settled(connection.send(status3()));
    const deny = settled(connection.send(clientDeny(1, 1, "denied")));
    for (const error of [await status, await deny]) {
      assert(error instanceof ManagementConnectionError, String(error));
      // As on any drop: OpenVPN may have run the deny, so its outcome is unknown.
      assertEquals(error.code, "disconnected");
      assert(error.cause instanceof ManagementConnectionError);
      assertEquals(error.cause.code, "out-of-step");
    }
    const down = await next(isType("disconnected"));
    assert(down.type === "disconnected");
    assert(down.reason.includes('got "SUCCESS: client-deny command succeeded"'), down.reason);
    await next(isType("connected"), 2);
    server.respond = undefined;
    assertEquals((await connection.send(status3())).type, "lines");
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("a timed-out command rejects, and its late reply is discarded instead of answering the next", async () => {
  const server = await FakeManagementServer.start();
  const clock = new FakeClock();
  const { connection, next } = connect(server, { clock });
  try {
    await next(isType("connected"));
    server.respond = (command) => (command.startsWith("client-deny 1 ") ? "none" : "default");
    const slow = connection.send(clientDeny(1, 1, "slow"), { timeoutMs: 50 });
    await server.waitForLine((line) => line.startsWith("client-deny 1 "));
    clock.advance(50);
    const error = await assertRejects(() => slow, ManagementConnectionError, "timed out");
    assertEquals(error.code, "timeout");
    server.sendLines(["SUCCESS: late reply"]);
    const reply = await connection.send(clientDeny(2, 1, "fast"));
    assertEquals(reply.type === "success" && reply.message, "client-deny command succeeded");
    assertEquals(connection.status().linkUp, true);
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("send() rejects while the link is down and after close()", async () => {
  const server = await FakeManagementServer.start();
  const { connection, next } = connect(server);
  await next(isType("connected"));
  await connection.close();
  const error = await assertRejects(
    () => connection.send(status3()),
    ManagementConnectionError,
    "not connected",
  );
  assertEquals(error.code, "not-connected");
  assertEquals(server.connections, 1);
  await server.stop();
});

Deno.test("send() while this instance may not write (a holder's lease may have run out) rejects as not written, before anything goes out", async () => {
  const server = await FakeManagementServer.start();
  let allowed = true;
  const { connection, next } = connect(server, { mayWrite: () => allowed });
  try {
    await next(isType("connected"));
    const before = server.received.length;
    allowed = false;
    const error = await assertRejects(() => connection.send(status3()), ManagementConnectionError);
    // Known not written: a cluster hands it to the next holder (not-connected is the other).
    assertEquals(error.code, "not-written");
    assertEquals(server.received.length, before);
    allowed = true;
    assert((await connection.send(status3())).type === "lines");
  } finally {
    await connection.close();
    await server.stop();
  }
});

Deno.test("an unreachable address is retried with backoff and reported per attempt", async () => {
  const server = await FakeManagementServer.start({ transport: "unix" });
  const address = server.address;
  await server.stop();
  const { connection, next } = connect(server, { address });
  try {
    const second = await next(isType("connect-failed"), 2);
    assert(second.type === "connect-failed");
    assertEquals(second.error.code, "socket");
    assert(second.error.cause instanceof Error, "the socket's own error");
  } finally {
    await connection.close();
  }
});
