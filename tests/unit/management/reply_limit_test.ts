/**
 * `maxReplyChars` bounds what one multi-line reply holds in memory, whatever its lines: each
 * kept line counts REPLY_LINE_OVERHEAD_CHARS besides its characters, so lines without text
 * (a peer answering `status` with endless line ends) are not free.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  DEFAULT_LIMITS,
  ManagementProtocol,
  REPLY_LINE_OVERHEAD_CHARS,
} from "../../../src/management/protocol.ts";

/** What the socket hands over at a time. */
const CHUNK = 65_536;

Deno.test("push() ends a reply of endless empty lines truncated, with a bounded number of lines", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("multi");
  const most = Math.floor(DEFAULT_LIMITS.maxReplyChars / REPLY_LINE_OVERHEAD_CHARS);
  const flood = "\n".repeat(CHUNK);
  // More empty lines than the limit allows: 2,621,440.
  const warnings = [];
  for (let i = 0; i < 40; i++) {
    warnings.push(...core.push(flood).events);
    const held = core.stats().bufferedChars;
    assert(held <= DEFAULT_LIMITS.maxReplyChars, `${held} chars held`);
  }
  assert(40 * CHUNK > most);
  const held = core.stats().bufferedChars;
  const out = core.push("END\n");
  assertEquals(out.replies.length, 1);
  const reply = out.replies[0]!;
  assert(reply.ticket === ticket && reply.type === "lines", JSON.stringify(reply).slice(0, 200));
  assertEquals([reply.lines.length, reply.truncated], [most, true]);
  // The lines held are counted: what a peer makes the bridge hold shows in the stats.
  assertEquals(held, most * REPLY_LINE_OVERHEAD_CHARS);
  const codes = warnings.map((event) => event.type === "warning" ? event.code : event.type);
  // The count first: one warning per line past the limit made half a million, and the diff
  // assertEquals then wrote of them ran for ever instead of failing.
  assertEquals(codes.length, 1, `warnings: ${codes.length}, first ${codes.slice(0, 3).join(", ")}`);
  assertEquals(codes, ["reply-too-long"]);
  assertEquals(core.stats().bufferedChars, 0);
});

Deno.test("push() counts each kept reply line with REPLY_LINE_OVERHEAD_CHARS besides its characters", () => {
  const core = new ManagementProtocol({ maxReplyChars: 3 * (2 + REPLY_LINE_OVERHEAD_CHARS) });
  const ticket = core.expect("multi");
  core.push("ab\n\n");
  assertEquals(core.stats().bufferedChars, 2 + 2 * REPLY_LINE_OVERHEAD_CHARS);
  // A third two-character line still fits exactly; the fourth, even empty, does not.
  const out = core.push("cd\n\nEND\n");
  assertEquals(out.replies, [{ ticket, type: "lines", lines: ["ab", "", "cd"], truncated: true }]);
  assertEquals(out.events.map((event) => event.type === "warning" ? event.code : event.type), [
    "reply-too-long",
  ]);
});

Deno.test("push() keeps a reply of exactly maxReplyChars and truncates one a character longer", () => {
  const limit = 2 * (REPLY_LINE_OVERHEAD_CHARS + 3);
  const replyOf = (second: string) => {
    const core = new ManagementProtocol({ maxReplyChars: limit });
    const ticket = core.expect("multi");
    return { ticket, out: core.push(`abc\n${second}\nEND\n`) };
  };
  const exact = replyOf("def");
  assertEquals(exact.out.replies, [{
    ticket: exact.ticket,
    type: "lines",
    lines: ["abc", "def"],
    truncated: false,
  }]);
  const over = replyOf("defg");
  assertEquals(over.out.replies, [{
    ticket: over.ticket,
    type: "lines",
    lines: ["abc"],
    truncated: true,
  }]);
  assertEquals(over.out.events.map((event) => event.type), ["warning"]);
});

Deno.test("the default reply limit is the README's: a client list is cut past 64 MiB, about 290,000 clients of 200-character status lines", () => {
  assertEquals(DEFAULT_LIMITS.maxReplyChars, 64 * 1024 * 1024);
  // A `status 3` CLIENT_LIST line with a 64-character name and an IPv6 peer (protocol.ts).
  const clients = Math.floor(DEFAULT_LIMITS.maxReplyChars / (200 + REPLY_LINE_OVERHEAD_CHARS));
  assert(Math.abs(clients - 290_000) < 2_900, `${clients} clients fit, not about 290,000`);
});
