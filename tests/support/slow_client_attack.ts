/**
 * A bounded slow-client attack on a listener at 127.0.0.1: connections that send nothing,
 * connections that drip an endless request header in a byte at a time, and keep-alive
 * connections that go idle after one request, while a normal client keeps asking /healthz.
 * Used by the binary and daemon tests (which assert behaviour) and bench/slow_clients.ts
 * (which prints the figures).
 */
import { connect, type Socket } from "node:net";

export interface AttackPlan {
  port: number;
  /** Attack connections held at once, by kind; each is opened again when the server closes it. */
  silent: number;
  drip: number;
  idle: number;
  /** Pause between dripped bytes. */
  dripIntervalMs: number;
  /** How long connections are reopened; then the attack waits for the last ones to close. */
  durationMs: number;
  /** How long to wait for the last attack connections to be closed after `durationMs`. */
  drainMs: number;
  /** Pause between normal requests. */
  normalIntervalMs?: number;
  /**
   * The normal client's own address, not the attacker's 127.0.0.1, as a real user would have.
   * Tests run the attack in a network namespace of their own (slow_client_attack_child.ts),
   * where all of 127.0.0.0/8 is theirs.
   */
  normalFrom: string;
}

export interface AttackFigures {
  /** Attack connections opened in all (the TCP handshake completed). */
  opened: number;
  /** Of those, closed by the server before 50 ms: refused or evicted at once. */
  closedAtOnce: number;
  /** Most attack sockets open at the same time on the attacker's side (including connections
   * still queued in the server's accept backlog). */
  peakHeld: number;
  /** Attack connections still open when the attack gave up waiting. */
  stillOpen: number;
  /** Open-to-close times of the server-closed connections, ms. */
  closeTimeMedianMs: number;
  closeTimeP95Ms: number;
  closeTimeMaxMs: number;
  normalOk: number;
  normalFailed: number;
}

interface Tracked {
  socket: Socket;
  openedAt: number;
  closedAt: number | undefined;
  connected: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function slowClientAttack(plan: AttackPlan): Promise<AttackFigures> {
  const started = Date.now();
  const attacking = () => Date.now() - started < plan.durationMs;
  const tracked: Tracked[] = [];
  let open = 0;
  let peakHeld = 0;
  const launch = (kind: "silent" | "drip" | "idle") => {
    const socket = connect({ host: "127.0.0.1", port: plan.port });
    const entry: Tracked = { socket, openedAt: Date.now(), closedAt: undefined, connected: false };
    tracked.push(entry);
    let drip: ReturnType<typeof setInterval> | undefined;
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.on("connect", () => {
      entry.connected = true;
      open++;
      peakHeld = Math.max(peakHeld, open);
      if (kind === "idle") socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      if (kind === "drip") {
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ");
        drip = setInterval(() => socket.write("y"), plan.dripIntervalMs);
      }
    });
    socket.on("close", () => {
      clearInterval(drip);
      entry.closedAt = Date.now();
      if (entry.connected) open--;
      // Keeps the pressure up: a closed attack connection is replaced (after a breath, so a
      // refusing server is not hammered in a tight loop).
      if (attacking()) setTimeout(() => launch(kind), 20);
    });
  };
  for (let i = 0; i < plan.silent; i++) launch("silent");
  for (let i = 0; i < plan.drip; i++) launch("drip");
  for (let i = 0; i < plan.idle; i++) launch("idle");

  let normalOk = 0;
  let normalFailed = 0;
  const allClosed = () => tracked.every((entry) => entry.closedAt !== undefined);
  while (
    attacking() || (!allClosed() && Date.now() - started < plan.durationMs + plan.drainMs)
  ) {
    if (attacking()) {
      if (await normalRequest(plan.port, plan.normalFrom)) normalOk++;
      else normalFailed++;
    }
    await sleep(plan.normalIntervalMs ?? 100);
  }
  const closed = tracked.filter((entry) => entry.connected && entry.closedAt !== undefined);
  const times = closed.map((entry) => entry.closedAt! - entry.openedAt).sort((a, b) => a - b);
  const stillOpen = tracked.filter((entry) => entry.closedAt === undefined).length;
  for (const entry of tracked) entry.socket.destroy();
  const at = (fraction: number) =>
    times[Math.min(times.length - 1, Math.floor(times.length * fraction))] ?? 0;
  return {
    opened: tracked.filter((entry) => entry.connected).length,
    closedAtOnce: times.filter((ms) => ms < 50).length,
    peakHeld,
    stillOpen,
    closeTimeMedianMs: at(0.5),
    closeTimeP95Ms: at(0.95),
    closeTimeMaxMs: times.at(-1) ?? 0,
    normalOk,
    normalFailed,
  };
}
/** One GET /healthz over its own connection; true for a 200 within 5 s. */
function normalRequest(port: number, from: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: from });
    let text = "";
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on(
      "connect",
      () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text.startsWith("HTTP/1.1 200"));
    });
  });
}
