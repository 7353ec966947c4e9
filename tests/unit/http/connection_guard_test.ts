/**
 * The connection guard's bookkeeping for a stop and a certificate reload, on sockets faked in
 * process: while one HTTP server replaces another, both take relayed connections, and the
 * kernel may give a relay socket towards the new one the local port of a relay to the old one.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { ConnectionGuard } from "../../../src/http/connection_guard.ts";
import type { GuardTransport, RelaySocket } from "../../../src/http/relay_socket.ts";

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
