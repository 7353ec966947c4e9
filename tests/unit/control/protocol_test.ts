import { assertEquals, assertThrows } from "../../support/assert.ts";
import { ControlRequestError, encodeRequest, parseRequest } from "../../../src/control/protocol.ts";
import type { ControlRequest } from "../../../src/control/protocol.ts";

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
