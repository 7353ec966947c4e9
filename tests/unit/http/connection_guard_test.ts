/**
 * The connection guard's bookkeeping for a stop and a certificate reload, on sockets faked in
 * process: while one HTTP server replaces another, both take relayed connections, and the
 * kernel may give a relay socket towards the new one the local port of a relay to the old one.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { ConnectionGuard, HTTP_TIMEOUT_LIMITS_MS } from "../../../src/http/connection_guard.ts";
import type { GuardTransport, RelaySocket } from "../../../src/http/relay_socket.ts";
import { FakeClock } from "../../support/fake_clock.ts";

/**
 * The local port of the first relay socket to each HTTP server (the next one gets the port
 * after it): relays to two servers share their local ports.
 */
const RELAY_PORT = 40_000;

/** A socket whose pump ends when it is closed. */
function fakeSocket(remoteAddress: string, remotePort: number, localPort: number): RelaySocket {
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => (closed = resolve));
  return {
    remoteAddress,
    remotePort,
    localPort,
    pump: () => ended,
    write: () => Promise.resolve(),
    end: () => {},
    close: () => closed(),
  };
}

/** A guard on fake sockets; `browse(address)` is a browser connecting from `address`. */
async function fakeGuard(targetPort: () => number) {
  let accept!: (socket: RelaySocket) => void;
  let relays = 0;
  const relaysTo = new Map<number, number>();
  const transport: GuardTransport = {
    listen: (_host, _port, onSocket) => {
      accept = onSocket;
      return Promise.resolve({ port: 443, close: () => {} });
    },
    connect: (port) => {
      relays++;
      const before = relaysTo.get(port) ?? 0;
      relaysTo.set(port, before + 1);
      return Promise.resolve(fakeSocket("127.0.0.1", port, RELAY_PORT + before));
    },
  };
  const guard = await ConnectionGuard.start({
    host: "127.0.0.1",
    port: 443,
    targetPort,
    maxConnections: 10,
    maxConnectionsPerClient: 10,
    isExempt: () => false,
    headerTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    onProblem: () => {},
    transport,
  });
  const browse = async (address: string) => {
    const before = relays;
    accept(fakeSocket(address, 50_000, 443));
    while (relays === before) await Promise.resolve();
    await settle();
  };
  return { guard, browse };
}

/** Lets the promise callbacks queued so far run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Whether `promise` has settled once the callbacks queued so far have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true));
  await settle();
  return settled;
}

Deno.test("ConnectionGuard.remoteAddrOf() tells apart relays on one local port to two HTTP servers", async () => {
  let target = 8001;
  const { guard, browse } = await fakeGuard(() => target);
  try {
    await browse("198.51.100.1");
    target = 8002; // a certificate reload: new connections go to the new server
    await browse("198.51.100.2");
    assertEquals(guard.remoteAddrOf(RELAY_PORT, 8001), "198.51.100.1");
    assertEquals(guard.remoteAddrOf(RELAY_PORT, 8002), "198.51.100.2");
    assertEquals(guard.remoteAddrOf(RELAY_PORT, 8003), undefined);
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard.firstRequestsStarted() settles once each of that server's connections started a request", async () => {
  let target = 8001;
  const { guard, browse } = await fakeGuard(() => target);
  try {
    await browse("198.51.100.1");
    await browse("198.51.100.2");
    target = 8002;
    await browse("198.51.100.3"); // the new server's: not waited for
    const started = guard.firstRequestsStarted(8001);
    guard.requestStarted(RELAY_PORT, 8001);
    assert(!(await isSettled(started)), "settled with a connection still waiting for a request");
    guard.requestEnded(RELAY_PORT, 8001);
    guard.requestStarted(RELAY_PORT, 8001); // the same connection again
    assert(!(await isSettled(started)), "settled with a connection still waiting for a request");
    guard.requestStarted(RELAY_PORT + 1, 8001);
    assert(await isSettled(started), "not settled after every connection started a request");
    assert(!(await isSettled(guard.firstRequestsStarted(8002))), "the new server's settled");
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard.firstRequestsStarted() settles once the connections waited for end", async () => {
  const { guard, browse } = await fakeGuard(() => 8001);
  try {
    await browse("198.51.100.1");
    const started = guard.firstRequestsStarted(8001);
    assert(!(await isSettled(started)), "settled before any request");
    guard.closeAll();
    assert(await isSettled(started), "not settled once the connection ended");
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard.allEnded() settles when the last connection ends", async () => {
  const { guard, browse } = await fakeGuard(() => 8001);
  try {
    assert(await isSettled(guard.allEnded()), "not settled with no connection");
    await browse("198.51.100.1");
    const ended = guard.allEnded();
    assert(!(await isSettled(ended)), "settled with a connection open");
    guard.closeAll();
    assert(await isSettled(ended), "not settled once the connection ended");
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard.start() that cannot listen names the address and why, as Deno and Bun say it", async () => {
  const options = {
    targetPort: () => 1,
    maxConnections: 10,
    maxConnectionsPerClient: 10,
    isExempt: () => false,
    headerTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    onProblem: () => {},
  };
  // Deno's sockets, on a port in use: its words name no address.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const error = await assertRejects(() =>
      ConnectionGuard.start({ ...options, host: "127.0.0.1", port })
    );
    assertEquals(
      (error as Error).message,
      `Cannot listen on 127.0.0.1:${port}: Address already in use (os error 98) (EADDRINUSE)`,
    );
    // The probe tells the running service by it.
    assertEquals((error as { code?: string }).code, "EADDRINUSE");
  } finally {
    taken.close();
  }
  // Bun's: the reason only in `code`.
  const refusing = (code: string): GuardTransport => ({
    listen: () => Promise.reject(Object.assign(new Error("Failed to listen at 0.0.0.0"), { code })),
    connect: () => Promise.reject(new Error("unused")),
  });
  const denied = await assertRejects(() =>
    ConnectionGuard.start({ ...options, host: "0.0.0.0", port: 443, transport: refusing("EACCES") })
  );
  assertEquals(
    (denied as Error).message,
    "Cannot listen on 0.0.0.0:443: Failed to listen at 0.0.0.0 (EACCES): a port below 1024 needs " +
      "CAP_NET_BIND_SERVICE, or a reverse proxy in front",
  );
  const v6 = await assertRejects(() =>
    ConnectionGuard.start({
      ...options,
      host: "::1",
      port: 8443,
      transport: refusing("EADDRINUSE"),
    })
  );
  assertEquals(
    (v6 as Error).message,
    "Cannot listen on [::1]:8443: Failed to listen at 0.0.0.0 (EADDRINUSE)",
  );
});

Deno.test("ConnectionGuard.start() refuses a header or idle timeout outside HTTP_TIMEOUT_LIMITS_MS", async () => {
  const transport: GuardTransport = {
    listen: () => Promise.resolve({ port: 443, close: () => {} }),
    connect: () => Promise.reject(new Error("unused")),
  };
  const options = {
    host: "127.0.0.1",
    port: 443,
    targetPort: () => 1,
    maxConnections: 10,
    maxConnectionsPerClient: 10,
    isExempt: () => false,
    headerTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    onProblem: () => {},
    transport,
  };
  const { min, max } = HTTP_TIMEOUT_LIMITS_MS;
  // A zero or negative timeout would close every connection as soon as it opened.
  for (const ms of [min - 1, 0, -1, max + 1, Number.NaN]) {
    for (const key of ["headerTimeoutMs", "idleTimeoutMs"]) {
      const error = await assertRejects(() => ConnectionGuard.start({ ...options, [key]: ms }));
      assert(error instanceof RangeError, `${key} ${ms}: ${error}`);
    }
  }
  const guard = await ConnectionGuard.start({
    ...options,
    headerTimeoutMs: min,
    idleTimeoutMs: max,
  });
  guard.stopAccepting();
});

/** A socket the test drives: `send()` is a chunk arriving from its peer. */
interface ScriptedSocket extends RelaySocket {
  readonly closed: boolean;
  send(chunk: Uint8Array): Promise<void>;
}

function scriptedSocket(remoteAddress: string, localPort: number): ScriptedSocket {
  let onChunk: ((chunk: Uint8Array) => Promise<void>) | undefined;
  let ended!: () => void;
  const pumped = new Promise<void>((resolve) => (ended = resolve));
  let closed = false;
  return {
    remoteAddress,
    remotePort: 50_000,
    localPort,
    get closed() {
      return closed;
    },
    pump: (handler) => {
      onChunk = handler;
      return pumped;
    },
    write: () => Promise.resolve(),
    end: () => {},
    close: () => {
      closed = true;
      ended();
    },
    send: (chunk) => onChunk!(chunk),
  };
}

const SERVER_PORT = 8001;

/**
 * A guard on scripted sockets whose timers, performance.now and Date.now are `clock`'s (the guard
 * uses the globals; Date.now too, so that `clock.stepWall` would show a guard timing on it);
 * `stop()` puts the real ones back. `browse(address)` is a browser connecting; while
 * `relayFails.now` is set, its relay connection fails. `problems` are the guard's reports.
 */
async function timedGuard(limits: {
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections?: number;
  maxConnectionsPerClient?: number;
}) {
  const clock = new FakeClock();
  const real = { setTimeout, clearTimeout, now: Date.now, monotonic: performance.now };
  globalThis.setTimeout = clock.setTimeout as unknown as typeof setTimeout;
  globalThis.clearTimeout = clock.clearTimeout as unknown as typeof clearTimeout;
  Date.now = clock.now;
  performance.now = clock.monotonic;
  let accept!: (socket: RelaySocket) => void;
  const relays: ScriptedSocket[] = [];
  const relayFails = { now: false };
  const problems: string[] = [];
  const transport: GuardTransport = {
    listen: (_host, _port, onSocket) => {
      accept = onSocket;
      return Promise.resolve({ port: 443, close: () => {} });
    },
    connect: () => {
      if (relayFails.now) return Promise.reject(new Error("connection refused"));
      const relay = scriptedSocket("127.0.0.1", RELAY_PORT + relays.length);
      relays.push(relay);
      return Promise.resolve(relay);
    },
  };
  const guard = await ConnectionGuard.start({
    host: "127.0.0.1",
    port: 443,
    targetPort: () => SERVER_PORT,
    maxConnections: limits.maxConnections ?? 10,
    maxConnectionsPerClient: limits.maxConnectionsPerClient ?? 10,
    isExempt: () => false,
    headerTimeoutMs: limits.headerTimeoutMs,
    idleTimeoutMs: limits.idleTimeoutMs,
    requestTimeoutMs: 60_000,
    onProblem: (problem) => problems.push(problem),
    transport,
  });
  const browse = async (address: string) => {
    const client = scriptedSocket(address, 443);
    const before = relays.length;
    accept(client);
    await settle();
    return { client, relay: relays.length > before ? relays.at(-1) : undefined };
  };
  const stop = () => {
    guard.closeAll();
    globalThis.setTimeout = real.setTimeout;
    globalThis.clearTimeout = real.clearTimeout;
    Date.now = real.now;
    performance.now = real.monotonic;
  };
  return { guard, clock, browse, stop, relayFails, problems };
}

const BYTES = new TextEncoder().encode("GET / HTTP/1.1\r\n");

Deno.test("ConnectionGuard holds a connection whose request is arriving to the header timeout, not the longer idle one", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 5_000,
  });
  try {
    const { client } = await browse("198.51.100.1");
    await client.send(BYTES); // and no request ever starts
    clock.advance(999);
    assert(!client.closed, "closed before the header timeout");
    clock.advance(1);
    assert(
      client.closed,
      "a request still not started after the header timeout kept its connection",
    );
    assertEquals(guard.stats.timedOut, 1);
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard times out a connection on time that passed, whatever the wall clock says", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 5_000,
  });
  try {
    const { client } = await browse("198.51.100.1");
    await client.send(BYTES);
    // NTP steps the wall clock back an hour: on it, the deadline would be an hour away.
    clock.stepWall(-3_600_000);
    clock.advance(1_000);
    assert(client.closed, "a wall clock stepped back held the connection past its header timeout");
    assertEquals(guard.stats.timedOut, 1);
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard at its cap evicts a request handled past the header timeout after the wall clock stepped back", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 5_000,
    maxConnections: 1,
  });
  try {
    const { client, relay } = await browse("198.51.100.1");
    await client.send(BYTES);
    guard.requestStarted(relay!.localPort, SERVER_PORT);
    clock.stepWall(-3_600_000);
    clock.advance(2_000);
    const next = await browse("198.51.100.2");
    assert(client.closed, "the overdue request was not evicted");
    assert(!next.client.closed, "a new connection was refused at the cap");
    assertEquals(guard.stats.evicted, 1);
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard reports its first problem at once and one per 10 s after, across a wall clock step", async () => {
  const { clock, browse, stop, relayFails, problems } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 5_000,
  });
  try {
    relayFails.now = true;
    // The monotonic clock starts near 0 in a young process: its first report is still due.
    await browse("198.51.100.1");
    assertEquals(problems.length, 1, "the first problem went unreported");
    clock.stepWall(-3_600_000);
    await browse("198.51.100.1");
    clock.advance(10_000);
    await browse("198.51.100.1");
    assertEquals(problems, [
      "relay connection failed: Error: connection refused",
      "relay connection failed: Error: connection refused (and 1 more since the last report)",
    ]);
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard keeps a connection open while its response is still being relayed past the idle timeout", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 1_000,
  });
  try {
    const { client, relay } = await browse("198.51.100.1");
    await client.send(BYTES);
    guard.requestStarted(relay!.localPort, SERVER_PORT);
    // The handler returned; its response body streams on to a slow browser.
    guard.requestEnded(relay!.localPort, SERVER_PORT);
    for (let i = 0; i < 5; i++) {
      clock.advance(600);
      await relay!.send(BYTES);
    }
    assert(!client.closed, "closed while the response was still flowing");
    clock.advance(1_000);
    assert(client.closed, "still open a whole idle timeout after the response");
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard counts a client's connections down one at a time as they end", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 1_000,
    maxConnectionsPerClient: 2,
  });
  try {
    const first = await browse("198.51.100.1");
    clock.advance(500);
    await browse("198.51.100.1");
    clock.advance(500); // the first times out; the second is still open
    assert(first.client.closed, "the first connection did not time out");
    assertEquals(guard.stats.open, 1);
    await browse("198.51.100.1");
    const over = await browse("198.51.100.1");
    assert(over.client.closed, "a third connection from one client was let in past its cap of 2");
    assertEquals(guard.stats, { open: 2, refused: 1, timedOut: 1, evicted: 0 });
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard.remoteAddrOf() forgets a connection once it has ended", async () => {
  const { guard, browse } = await fakeGuard(() => 8001);
  try {
    await browse("198.51.100.1");
    assertEquals(guard.remoteAddrOf(RELAY_PORT, 8001), "198.51.100.1");
    guard.closeAll();
    // Kept, every connection ever relayed would stay in memory, and a request on the port
    // afterwards would be taken for that browser's.
    assertEquals(guard.remoteAddrOf(RELAY_PORT, 8001), undefined);
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard at its cap evicts the connection waiting longest since its last phase change, not the oldest", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    maxConnections: 2,
  });
  try {
    const browser = await browse("198.51.100.1");
    clock.advance(100);
    const silent = await browse("198.51.100.2");
    clock.advance(100);
    await browser.client.send(BYTES); // its request is arriving: it waited less than `silent`
    clock.advance(100);
    const next = await browse("198.51.100.3");
    assert(silent.client.closed, "the connection silent longest was not evicted");
    assert(!browser.client.closed, "a connection sending its request was evicted first");
    assert(!next.client.closed, "the new connection was refused");
    assertEquals(guard.stats.evicted, 1);
  } finally {
    stop();
  }
});

Deno.test("ConnectionGuard closes the relay socket of a connection that ended before the relay connected", async () => {
  let accept!: (socket: RelaySocket) => void;
  let connected!: (relay: RelaySocket) => void;
  const transport: GuardTransport = {
    listen: (_host, _port, onSocket) => {
      accept = onSocket;
      return Promise.resolve({ port: 443, close: () => {} });
    },
    connect: () => new Promise((resolve) => (connected = resolve)),
  };
  const guard = await ConnectionGuard.start({
    host: "127.0.0.1",
    port: 443,
    targetPort: () => SERVER_PORT,
    maxConnections: 10,
    maxConnectionsPerClient: 10,
    isExempt: () => false,
    headerTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    onProblem: () => {},
    transport,
  });
  try {
    accept(scriptedSocket("198.51.100.1", 443));
    guard.closeAll(); // a stop, or an eviction, while the relay connects
    const relay = scriptedSocket("127.0.0.1", RELAY_PORT);
    connected(relay);
    await settle();
    assert(relay.closed, "the late relay socket was left open");
    assertEquals(guard.remoteAddrOf(RELAY_PORT, SERVER_PORT), undefined);
  } finally {
    guard.closeAll();
  }
});

Deno.test("ConnectionGuard ignores a chunk handed over after its connection closed, and holds its cap", async () => {
  const { guard, clock, browse, stop } = await timedGuard({
    headerTimeoutMs: 1_000,
    idleTimeoutMs: 1_000,
    maxConnections: 2,
  });
  try {
    const late = await browse("198.51.100.1");
    clock.advance(1_000); // the idle timeout closes it
    assert(late.client.closed, "the idle connection did not time out");
    // A read that finished as the timer closed the connection hands its chunk over afterwards:
    // a transport could (guard_transport_deno_test.ts and guard_transport_bun_test.ts hold ours to
    // handing nothing).
    await late.client.send(BYTES);
    await late.relay!.send(BYTES);
    assertEquals(clock.pendingTimers, 0, "a closed connection got a timer");
    clock.advance(1_000);
    assertEquals(guard.stats, { open: 0, refused: 0, timedOut: 1, evicted: 0 });
    // A closed connection left among the waiting ones would be "evicted" for every newcomer.
    const first = await browse("198.51.100.2");
    clock.advance(100);
    await browse("198.51.100.3");
    clock.advance(100);
    const third = await browse("198.51.100.4");
    const fourth = await browse("198.51.100.5");
    assertEquals(guard.stats, { open: 2, refused: 0, timedOut: 1, evicted: 2 });
    assert(first.client.closed, "the connection waiting longest was not evicted");
    assert(!third.client.closed && !fourth.client.closed, "a new connection was refused");
  } finally {
    stop();
  }
});
