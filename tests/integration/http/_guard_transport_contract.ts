/**
 * What the connection guard needs from its sockets, run against the transport of whichever
 * runtime runs this (guard_transport_test.ts: Deno in-process, Bun in a child). It returns what it
 * observed; the test asserts. Everything binds to 127.0.0.1 on free ports.
 */
import { readdirSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { guardTransport } from "../../../src/http/guard_transport.ts";
import type { RelaySocket } from "../../../src/http/relay_socket.ts";
import { within } from "../../support/within.ts";

export interface ContractObservations {
  /** Bytes sent through an echo whose reader is slow, and whether all came back intact. */
  echoSent: number;
  echoIntact: boolean;
  /** After a half-close: what the other side read to its end, and the answer that followed. */
  halfCloseRequest: string;
  halfCloseAnswer: string;
  /** Descriptors released by `close()` while the peers keep their side open. */
  releasedByClose: number;
  closedPeers: number;
  /** Of 32 MiB written to a socket whose handler never returns, how much got written. */
  stalledWriterDone: number;
  /** A connection to a port nobody listens on fails. */
  refusedConnectRejected: boolean;
  /** A pump whose handler throws settles. */
  failedHandlerSettled: boolean;
}

const ECHO_BYTES = 4 * 1024 * 1024;
const STUBBORN_PEERS = 20;
const STALLED_BYTES = 32 * 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const openDescriptors = () => readdirSync("/proc/self/fd").length;
const text = (chunks: Uint8Array[]) => new TextDecoder().decode(concat(chunks));

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

export async function observeGuardTransport(): Promise<ContractObservations> {
  const transport = guardTransport();
  let accepted: (socket: RelaySocket) => void = () => {};
  const listener = await transport.listen("127.0.0.1", 0, (socket) => accepted(socket), () => {});
  const nextAccepted = () => new Promise<RelaySocket>((resolve) => accepted = resolve);
  try {
    // An echo through both sides; the reader takes its time, so writes outrun it and must wait
    // for the socket to drain, and the echo side must stop reading meanwhile.
    const echoSide = nextAccepted();
    const client = await transport.connect(listener.port);
    const server = await echoSide;
    const echoed = server.pump((chunk) => server.write(chunk)).then(() => server.end());
    const sent = new Uint8Array(ECHO_BYTES);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 12)) & 0xff;
    const received: Uint8Array[] = [];
    let receivedBytes = 0;
    const read = client.pump(async (chunk) => {
      received.push(chunk.slice());
      receivedBytes += chunk.length;
      if (received.length % 8 === 0) await sleep(1);
    });
    for (let at = 0; at < sent.length; at += 64 * 1024) {
      await client.write(sent.subarray(at, at + 64 * 1024));
    }
    client.end();
    await within(20_000, "echo", Promise.all([echoed, read]));
    const back = concat(received);
    const echoIntact = receivedBytes === sent.length &&
      back.every((byte, i) => byte === sent[i]);
    client.close();
    server.close();

    // Half-close: the request is read to its end, then the answer goes back the other way.
    const answerSide = nextAccepted();
    const asker = await transport.connect(listener.port);
    const answerer = await answerSide;
    const request: Uint8Array[] = [];
    const answered = answerer.pump((chunk) => {
      request.push(chunk.slice());
      return Promise.resolve();
    }).then(async () => {
      await sleep(20);
      await answerer.write(new TextEncoder().encode("answer after end"));
      answerer.end();
    });
    const answer: Uint8Array[] = [];
    const askerRead = asker.pump((chunk) => {
      answer.push(chunk.slice());
      return Promise.resolve();
    });
    await asker.write(new TextEncoder().encode("request"));
    asker.end();
    await within(5_000, "half-close", Promise.all([answered, askerRead]));
    asker.close();
    answerer.close();

    // Peers that never close their side: close() must free our descriptors anyway.
    const peers: Socket[] = [];
    const ours: RelaySocket[] = [];
    accepted = (socket) => ours.push(socket);
    for (let i = 0; i < STUBBORN_PEERS; i++) {
      const peer = netConnect({ host: "127.0.0.1", port: listener.port, allowHalfOpen: true });
      peer.on("error", () => {});
      peer.resume();
      peers.push(peer);
    }
    await within(
      5_000,
      "stubborn peers",
      (async () => {
        while (ours.length < STUBBORN_PEERS) await sleep(5);
      })(),
    );
    const before = openDescriptors();
    for (const socket of ours) socket.close();
    await sleep(100);
    const releasedByClose = before - openDescriptors();
    const closedPeers = peers.filter((peer) => peer.readableEnded || peer.destroyed).length;
    for (const peer of peers) peer.destroy();

    // A handler that never returns: the socket must stop reading, so the writer backs up
    // instead of this side buffering all it is sent.
    const stalledSide = nextAccepted();
    const writer = await transport.connect(listener.port);
    const stalled = await stalledSide;
    void stalled.pump(() => new Promise<void>(() => {}));
    let stalledWriterSent = 0;
    void (async () => {
      const block = new Uint8Array(64 * 1024);
      while (stalledWriterSent < STALLED_BYTES) {
        await writer.write(block);
        stalledWriterSent += block.length;
      }
    })().catch(() => {}); // the write cut short by close() below
    await sleep(300);
    const stalledWriterDone = stalledWriterSent;
    writer.close();
    stalled.close();

    // A refused connection, and a pump whose handler fails.
    const refusedConnectRejected = await transport.connect(await closedPort()).then(
      (socket) => {
        socket.close();
        return false;
      },
      () => true,
    );
    const failingSide = nextAccepted();
    const sender = await transport.connect(listener.port);
    const failing = await failingSide;
    const failedPump = failing.pump(() => Promise.reject(new Error("handler failed")));
    await sender.write(new TextEncoder().encode("x"));
    const failedHandlerSettled = await within(5_000, "failed handler", failedPump).then(
      () => true,
      () => false,
    );
    sender.close();
    failing.close();

    return {
      echoSent: sent.length,
      echoIntact,
      halfCloseRequest: text(request),
      halfCloseAnswer: text(answer),
      releasedByClose,
      closedPeers,
      stalledWriterDone,
      refusedConnectRejected,
      failedHandlerSettled,
    };
  } finally {
    listener.close();
  }
}

/** A port that was free a moment ago and has nobody listening now. */
async function closedPort(): Promise<number> {
  const transport = guardTransport();
  const listener = await transport.listen("127.0.0.1", 0, (socket) => socket.close(), () => {});
  const port = listener.port;
  listener.close();
  await sleep(10);
  return port;
}
