/**
 * The Bun transport's socket wrapper against a scripted Bun socket, in Deno: the paths a real
 * socket takes only by chance (a drain the kernel takes nothing of, a write to a socket Bun has
 * closed before telling us, chunks still waiting when it closes) and the listener's close.
 */
import { assertEquals } from "../../support/assert.ts";
import type { GuardTransport, RelaySocket } from "../../../src/http/relay_socket.ts";

type Handlers = Record<"open" | "data" | "drain" | "end" | "close", (...args: never[]) => void>;

/** What Bun.listen was given and what its server was asked. */
const bunSide = { handlers: undefined as Handlers | undefined, stops: [] as unknown[] };
// guard_transport_bun.ts takes `Bun` when it is loaded; the global is gone again at once, so
// nothing else here takes Deno for Bun.
(globalThis as Record<string, unknown>).Bun = {
  listen(options: { socket: Handlers }) {
    bunSide.handlers = options.socket;
    return { port: 4321, stop: (closeActive?: boolean) => bunSide.stops.push(closeActive) };
  },
};
const { bunTransport } = await import("../../../src/http/guard_transport_bun.ts") as {
  bunTransport: GuardTransport;
};
delete (globalThis as Record<string, unknown>).Bun;

/** A Bun socket whose `write` takes what `takes` says, one answer per call. */
class ScriptedSocket {
  readonly remoteAddress = "198.51.100.1";
  readonly remotePort = 50_000;
  readonly localPort = 443;
  data: unknown;
  readonly takes: number[] = [];
  readonly sent: number[] = [];
  ended = false;
  write(chunk: Uint8Array): number {
    const taken = this.takes.shift() ?? chunk.length;
    if (taken > 0) this.sent.push(...chunk.subarray(0, taken));
    return taken;
  }
  shutdown() {}
  end() {
    this.ended = true;
  }
  pause() {}
  resume() {}
  setNoDelay() {
    return true;
  }
}

/** A listener of the transport, and a socket opened on it with the wrapper it was given. */
async function opened() {
  let relay!: RelaySocket;
  const listener = await bunTransport.listen("127.0.0.1", 0, (s) => relay = s, () => {});
  const socket = new ScriptedSocket();
  const on = bunSide.handlers!;
  on.open(socket as never);
  const event = (name: keyof Handlers, ...args: unknown[]) =>
    (on[name] as (...a: unknown[]) => void)(socket, ...args);
  return { listener, socket, relay, event };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Whether `promise` has settled by now (after the microtasks and timers queued so far). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await tick();
  return done;
}

Deno.test("Bun transport: a drain the kernel takes nothing of keeps the rest for the next drain", async () => {
  const { socket, relay, event } = await opened();
  const chunk = Uint8Array.of(1, 2, 3, 4, 5, 6);
  socket.takes.push(2, 0, 4);
  const writing = relay.write(chunk);
  event("drain");
  assertEquals(await settled(writing), false, "settled with 4 bytes unsent");
  event("drain");
  assertEquals(await settled(writing), true);
  assertEquals(socket.sent, [...chunk]);
});

Deno.test("Bun transport: a write to a socket Bun has closed settles at once, before its close event", async () => {
  const { socket, relay } = await opened();
  socket.takes.push(-1);
  assertEquals(await settled(relay.write(Uint8Array.of(1, 2, 3))), true);
});

Deno.test("Bun transport: close() settles the pump without waiting for Bun's close event, and hands on nothing read before it", async () => {
  const { socket, relay, event } = await opened();
  const handed: number[] = [];
  let release!: () => void;
  const pumping = relay.pump((chunk) => {
    handed.push(...chunk);
    return new Promise((resolve) => release = resolve);
  });
  event("data", Uint8Array.of(1));
  event("data", Uint8Array.of(2));
  relay.close();
  release();
  assertEquals(await settled(pumping), true, "pump still pending after close()");
  assertEquals([handed, socket.ended], [[1], true]);
});

Deno.test("Bun transport: a chunk Bun reports after close() is not handed on", async () => {
  const { relay, event } = await opened();
  const handed: number[] = [];
  const pumping = relay.pump((chunk) => {
    handed.push(...chunk);
    return Promise.resolve();
  });
  relay.close();
  event("data", Uint8Array.of(1));
  assertEquals(await settled(pumping), true, "pump still pending after close()");
  assertEquals(handed, [], "a chunk was handed on after close()");
});

Deno.test("Bun transport: closing the listener leaves its open connections to the guard", async () => {
  const { listener } = await opened();
  bunSide.stops.length = 0;
  listener.close();
  assertEquals(bunSide.stops, [false]);
});
