import { assertEquals, assertThrows } from "../../support/assert.ts";
import {
  answerPieces,
  ControlRequestError,
  encodeRequest,
  parseRequest,
  ROWS_PER_PIECE,
} from "../../../src/control/protocol.ts";
import type {
  ControlAnswer,
  ControlRequest,
  ControlResponse,
  SessionRow,
} from "../../../src/control/protocol.ts";

const valid: Array<[string, ControlRequest]> = [
  ['{"command":"sessions.list"}', { command: "sessions.list" }],
  ['{"command":"logins.list"}', { command: "logins.list" }],
  [
    '{"command":"sessions.revoke","user":"alice"}',
    { command: "sessions.revoke", target: { kind: "user", username: "alice" } },
  ],
  [
    '{"command":"sessions.revoke","subject":"u-1"}',
    { command: "sessions.revoke", target: { kind: "subject", subject: "u-1" } },
  ],
  [
    '{"command":"sessions.revoke","sessionId":"s 1"}',
    { command: "sessions.revoke", target: { kind: "session", sessionId: "s 1" } },
  ],
];

for (const [line, expected] of valid) {
  Deno.test(`parseRequest() reads ${line} and encodeRequest() writes it back`, () => {
    assertEquals(parseRequest(line), expected);
    assertEquals(parseRequest(encodeRequest(expected)), expected);
    assertEquals(encodeRequest(expected).endsWith("\n"), true);
  });
}

const invalid: Array<[string, string]> = [
  ["", "not JSON"],
  ["not json", "not JSON"],
  ["[]", "JSON object"],
  ["null", "JSON object"],
  ['"sessions.list"', "JSON object"],
  ["{}", "Unknown command: null"],
  ['{"command":"sessions.delete_all"}', "Unknown command"],
  ['{"command":"sessions.list","user":"alice"}', 'Unknown field "user"'],
  ['{"command":"sessions.revoke"}', "exactly one"],
  ['{"command":"sessions.revoke","user":"a","subject":"b"}', "exactly one"],
  ['{"command":"sessions.revoke","user":""}', "non-empty string"],
  ['{"command":"sessions.revoke","user":7}', "non-empty string"],
  ['{"command":"sessions.revoke","user":["alice"]}', "non-empty string"],
  [`{"command":"sessions.revoke","user":"${"a".repeat(1025)}"}`, "longer than 1024"],
  ['{"command":"sessions.revoke","all":true}', 'Unknown field "all"'],
];

for (const [line, message] of invalid) {
  Deno.test(`parseRequest() refuses ${line.slice(0, 60) || "an empty line"}`, () => {
    const error = assertThrows(() => parseRequest(line), ControlRequestError);
    assertEquals(error.message.includes(message), true, error.message);
  });
}

function sessionRow(i: number): SessionRow {
  return {
    sessionId: `s-${i}`,
    username: i % 2 === 0 ? `user ${i}` : 'quote " and \\ and \u0001',
    subject: `u-${i}`,
    server: "vpn1",
    cid: i % 3 === 0 ? null : i,
    commonName: `cn-${i}`,
    clientIp: i % 5 === 0 ? null : `192.0.2.${i % 256}`,
    createdAt: new Date(1_700_000_000_000 + i).toISOString(),
    lastAuthAt: new Date(1_700_000_000_000 + i).toISOString(),
    expiresAt: new Date(1_700_000_100_000 + i).toISOString(),
  };
}

const answers: Array<[string, ControlResponse]> = [
  ...[0, 1, ROWS_PER_PIECE, ROWS_PER_PIECE + 1, 2 * ROWS_PER_PIECE + 234].map((
    n,
  ): [string, ControlResponse] => [
    `${n} sessions`,
    { ok: true, sessions: Array.from({ length: n }, (_, i) => sessionRow(i)) },
  ]),
  ["3 logins", {
    ok: true,
    logins: [0, 1, 2].map((i) => ({
      server: "vpn1",
      cid: i,
      commonName: `cn-${i}`,
      clientIp: "192.0.2.1",
      ageSec: i,
      createdAt: new Date(1_700_000_000_000 + i).toISOString(),
    })),
  }],
  ["a revoke", { ok: true, ended: 2, stillConnected: [{ server: "vpn1", cid: 3, username: "u" }] }],
  ["an error", { ok: false, error: 'Unknown command: "x"' }],
];

async function* onePage<T>(rows: T[]) {
  yield rows;
}

/** The answer the service writes for `response`: its list, if it has one, as one page. */
function streamed(response: ControlResponse): ControlAnswer {
  if ("sessions" in response) {
    return { ok: true, list: "sessions", pages: onePage(response.sessions) };
  }
  if ("logins" in response) return { ok: true, list: "logins", pages: onePage(response.logins) };
  return response;
}

for (const [name, response] of answers) {
  Deno.test(`answerPieces(): the pieces of ${name} join to the answer's one JSON line`, async () => {
    const pieces = await Array.fromAsync(answerPieces(streamed(response)));
    assertEquals(pieces.join(""), JSON.stringify(response) + "\n");
    assertEquals(pieces.slice(0, -1).some((piece) => piece.includes("\n")), false);
  });
}

Deno.test("answerPieces(): a long list comes ROWS_PER_PIECE rows a piece", async () => {
  const rows = 2 * ROWS_PER_PIECE + 234;
  const pieces = await Array.fromAsync(answerPieces(streamed({
    ok: true,
    sessions: Array.from({ length: rows }, (_, i) => sessionRow(i)),
  })));
  // The opening, three pieces of rows, the end.
  assertEquals(pieces.length, 5);
  const rowsIn = pieces.slice(1, -1).map((piece) => piece.split('"sessionId"').length - 1);
  assertEquals(rowsIn, [ROWS_PER_PIECE, ROWS_PER_PIECE, 234]);
});

Deno.test("answerPieces(): streamed session pages join to the line of the answer with all their rows, empty pages and none included", async () => {
  const rows = Array.from({ length: ROWS_PER_PIECE + 3 }, (_, i) => sessionRow(i));
  async function* pages() {
    yield rows.slice(0, 2);
    yield [];
    yield rows.slice(2);
  }
  const pieces = await Array.fromAsync(
    answerPieces({ ok: true, list: "sessions", pages: pages() }),
  );
  assertEquals(pieces.join(""), JSON.stringify({ ok: true, sessions: rows }) + "\n");
  async function* none() {}
  const empty = await Array.fromAsync(answerPieces({ ok: true, list: "sessions", pages: none() }));
  assertEquals(empty.join(""), JSON.stringify({ ok: true, sessions: [] }) + "\n");
});
