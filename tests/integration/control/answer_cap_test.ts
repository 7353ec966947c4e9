/**
 * The admin command reads the service's answer into one string, so it caps its size
 * (`maxAnswerChars`, by default about 512 Mi characters: what one string can hold): an answer
 * past the cap is not our service's, and fails at once with the connection closed, rather than
 * crashing the command or waiting for an end that does not come. An answer exactly at the cap is
 * read. The cap is set small here; the service's keepalive spaces before the answer count.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { sendControlRequest } from "../../../src/control/client.ts";

const CAP = 1_000;
const ANSWER = '{"ok":true,"sessions":[]}\n';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A socket server that, once the request line came, writes each of `pieces` (apart, so that
 * the client reads them as separate chunks), then ends the connection when `end` says so.
 * `closed` resolves when the client closed the connection.
 */
async function answeringServer(pieces: string[], end: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "control-cap-"));
  const path = join(dir, "control.sock");
  const accepted: Socket[] = [];
  let clientLeft: () => void = () => {};
  const closed = new Promise<void>((resolve) => (clientLeft = resolve));
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    socket.once("close", () => clientLeft());
    socket.once("data", async () => {
      for (const piece of pieces) {
        if (socket.destroyed) return;
        socket.write(piece);
        await delay(50);
      }
      if (end && !socket.destroyed) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const cleanup = async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  return { path, closed, cleanup };
}

/** Resolves to whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

Deno.test("control socket client: an answer of exactly maxAnswerChars characters is read", async () => {
  const keepalives = " ".repeat(CAP - ANSWER.length);
  const t = await answeringServer([keepalives, ANSWER], true);
  try {
    const answer = await sendControlRequest(t.path, { command: "sessions.list" }, {
      maxAnswerChars: CAP,
      idleTimeoutMs: 2_000,
    });
    assertEquals(answer, { ok: true, sessions: [] });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket client: an answer past maxAnswerChars fails at once, saying so, and closes the connection", async () => {
  // CAP characters, then one more in a later chunk: the cap counts the whole answer, not a
  // chunk. The server never ends: only the cap stops the client before its idle timeout.
  const keepalives = " ".repeat(CAP - ANSWER.length);
  const t = await answeringServer([keepalives, ANSWER, " "], false);
  try {
    const started = Date.now();
    await assertRejects(
      () =>
        sendControlRequest(t.path, { command: "sessions.list" }, {
          maxAnswerChars: CAP,
          idleTimeoutMs: 2_000,
        }),
      Error,
      `Answer on ${t.path} is too large (over ${CAP} characters)`,
    );
    assert(Date.now() - started < 1_500, "gave up by the idle timeout, not by the cap");
    assert(await within(t.closed, 500), "the client kept the connection it gave up");
  } finally {
    await t.cleanup();
  }
});
