/**
 * A long list's answer is made and written in pieces, each in an event-loop turn of its own and
 * only once the socket took the one before: listing 100,000 sessions made a 30 MB line in one go,
 * which held up every REAUTH for 68-149 ms.
 */
import { EventEmitter } from "node:events";
import { setImmediate } from "node:timers";
import { assertEquals } from "../../support/assert.ts";
import { turnsDuring } from "../../support/turns.ts";
import { handleControlRequest } from "../../../src/control/handler.ts";
import { type AnswerSocket, writeAnswer } from "../../../src/control/server.ts";
import {
  type ControlAnswer,
  ROWS_PER_PIECE,
  type SessionRow,
} from "../../../src/control/protocol.ts";
import { nextTurn } from "../../../src/next_turn.ts";
import { listed, pendingLogin } from "../sessions/fixtures.ts";

/** A socket that records each write with the event-loop turn it came in. */
class RecordingSocket extends EventEmitter {
  destroyed = false;
  ended = false;
  readonly writes: Array<{ text: string; turn: number }> = [];
  /** write() answers false (the kernel's buffer is full) for these write numbers. */
  full = new Set<number>();
  turn = 0;
  #counting = true;

  constructor() {
    super();
    const tick = () => {
      if (!this.#counting) return;
      this.turn++;
      setImmediate(tick);
    };
    setImmediate(tick);
  }

  write(text: string): boolean {
    this.writes.push({ text, turn: this.turn });
    return !this.full.has(this.writes.length);
  }

  end(): this {
    this.ended = true;
    this.#counting = false;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    this.#counting = false;
    return this;
  }

  stop(): void {
    this.#counting = false;
  }
}

function sessions(count: number): SessionRow[] {
  return Array.from({ length: count }, (_, i) => ({
    sessionId: `s-${i}`,
    username: "alice",
    subject: "u-1",
    server: "vpn1",
    cid: i,
    commonName: "alice-laptop",
    clientIp: null,
    createdAt: "2026-11-30T10:00:00.000Z",
    lastAuthAt: "2026-11-30T10:00:00.000Z",
    expiresAt: "2026-11-30T22:00:00.000Z",
  }));
}

/** The service's answer listing `rows`, in one page of the store. */
function listing(rows: SessionRow[]): ControlAnswer {
  return {
    ok: true,
    list: "sessions",
    pages: (async function* () {
      yield rows;
    })(),
  };
}

/** The line that answer is on the wire. */
const lineOf = (rows: SessionRow[]) => JSON.stringify({ ok: true, sessions: rows }) + "\n";

Deno.test("a list's answer is written a piece per event-loop turn, then the connection ends", async () => {
  const socket = new RecordingSocket();
  const rows = sessions(2 * ROWS_PER_PIECE + 1);
  await writeAnswer(socket as unknown as AnswerSocket, listing(rows));
  assertEquals(socket.writes.map((w) => w.text).join(""), lineOf(rows));
  assertEquals(socket.writes.length, 5, "the opening, three pieces of rows, the end");
  const turns = socket.writes.map((w) => w.turn);
  assertEquals(turns.every((turn, i) => i === 0 || turn > turns[i - 1]!), true, String(turns));
  assertEquals(socket.ended, true);
});

Deno.test("the next piece waits until the socket drained the last", async () => {
  const socket = new RecordingSocket();
  socket.full.add(2);
  const rows = sessions(2 * ROWS_PER_PIECE);
  const writing = writeAnswer(socket as unknown as AnswerSocket, listing(rows));
  for (let i = 0; i < 20; i++) await nextTurn();
  assertEquals(socket.writes.length, 2, "nothing more before 'drain'");
  socket.emit("drain");
  await writing;
  assertEquals(socket.writes.map((w) => w.text).join(""), lineOf(rows));
  assertEquals(socket.ended, true);
});

Deno.test("an admin command that went away mid-answer gets nothing more written", async () => {
  const socket = new RecordingSocket();
  socket.full.add(2);
  const writing = writeAnswer(
    socket as unknown as AnswerSocket,
    listing(sessions(3 * ROWS_PER_PIECE)),
  );
  for (let i = 0; i < 5; i++) await nextTurn();
  socket.destroyed = true;
  socket.emit("close");
  await writing;
  socket.stop();
  assertEquals(socket.writes.length, 2);
  assertEquals(socket.ended, false);
});

Deno.test("an admin command that stops reading is dropped after the stall, not waited for", async () => {
  const socket = new RecordingSocket();
  socket.full.add(2);
  await writeAnswer(
    socket as unknown as AnswerSocket,
    listing(sessions(3 * ROWS_PER_PIECE)),
    50,
  );
  assertEquals(socket.writes.length, 2, "nothing after the piece it did not take");
  assertEquals(socket.destroyed, true);
  assertEquals(socket.ended, false);
});

/**
 * A store whose session pages and pending-login pages (`pages` of each) are counted apart as
 * they are read, and which fails at page `failAt`.
 */
function pagedStore(pages: number, failAt?: number) {
  const read = { pages: 0, loginPages: 0 };
  async function* counted<T>(count: () => void, rowOf: (page: number, i: number) => T) {
    for (let page = 0; page < pages; page++) {
      if (page === failAt) throw new Error("store went away");
      count();
      yield Array.from({ length: ROWS_PER_PIECE }, (_, i) => rowOf(page, i));
      await nextTurn();
    }
  }
  const store = {
    sessionPages: () =>
      counted(() => read.pages++, (page, i) => listed({ sessionId: `s-${page}-${i}` })),
    pendingPages: () =>
      counted(
        () => read.loginPages++,
        (page, i) => pendingLogin({ id: `p-${page}-${i}`, cid: page * ROWS_PER_PIECE + i }),
      ),
  };
  return { store, read };
}

const controlDeps = (store: ReturnType<typeof pagedStore>["store"]) => ({
  store,
  revocation: { revoke: () => Promise.resolve({ ended: 0, stillConnected: [] }) },
  now: () => 0,
});

const LISTS = [
  { command: "sessions.list", list: "sessions", pagesRead: "pages", firstOfPage2: "s-1-0" },
  { command: "logins.list", list: "logins", pagesRead: "loginPages", firstOfPage2: ROWS_PER_PIECE },
] as const;

for (const { command, list, pagesRead, firstOfPage2 } of LISTS) {
  Deno.test(`${list} list: each page of the store is written before the next is read, over several turns`, async () => {
    const { store, read } = pagedStore(3);
    const socket = new RecordingSocket();
    socket.full.add(2);
    const { turns } = await turnsDuring(async () => {
      const answer = await handleControlRequest({ command }, controlDeps(store));
      const writing = writeAnswer(socket as unknown as AnswerSocket, answer);
      for (let i = 0; i < 20; i++) await nextTurn();
      // The socket took the opening and the first page, and said it was full: the store has
      // not been asked for the second page.
      assertEquals(socket.writes.length, 2);
      assertEquals(read[pagesRead], 1);
      socket.emit("drain");
      await writing;
    });
    assertEquals(read[pagesRead], 3);
    const line = socket.writes.map((w) => w.text).join("");
    const parsed = JSON.parse(line) as
      & { ok: boolean }
      & Record<string, Array<Record<string, unknown>>>;
    assertEquals(parsed.ok, true);
    assertEquals(parsed[list]!.length, 3 * ROWS_PER_PIECE);
    // A session row is known by its id; a login row has none (it is a capability): its cid.
    const row = parsed[list]![ROWS_PER_PIECE]!;
    assertEquals(list === "sessions" ? row["sessionId"] : row["cid"], firstOfPage2);
    assertEquals(line.endsWith("]}\n"), true);
    assertEquals(turns >= 3, true, `${turns} turns`);
    assertEquals(socket.ended, true);
  });
}

for (const { command, list } of LISTS) {
  Deno.test(`${list} list: a store that cannot be read fails before anything is written (server_test.ts: an error answer); one that fails halfway cuts the answer short`, async () => {
    const unreadable = pagedStore(3, 0);
    let refused: unknown;
    await handleControlRequest({ command }, controlDeps(unreadable.store)).catch(
      (error) => (refused = error),
    );
    assertEquals(String(refused), "Error: store went away");

    const failing = pagedStore(3, 1);
    const socket = new RecordingSocket();
    const answer = await handleControlRequest({ command }, controlDeps(failing.store));
    let cut: unknown;
    await writeAnswer(socket as unknown as AnswerSocket, answer).catch((error) => (cut = error));
    assertEquals(String(cut), "Error: store went away");
    assertEquals(socket.destroyed, true);
    assertEquals(socket.ended, false);
  });
}
