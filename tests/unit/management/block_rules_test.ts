/**
 * Where a `>CLIENT:` block ends and which ENV lines it takes: the rules whose slip would hand the
 * bridge half a block or a malformed one as if whole (fail closed: such a block is dropped and
 * its client named, so it can be denied).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { type ManagementEvent, ManagementProtocol } from "../../../src/management/protocol.ts";

function only(events: ManagementEvent[]): ManagementEvent {
  assertEquals(events.length, 1, `expected one event, got ${JSON.stringify(events)}`);
  return events[0]!;
}

Deno.test("push() ends a block only at a line that is exactly >CLIENT:ENV,END", () => {
  const core = new ManagementProtocol();
  const out = core.push(
    ">CLIENT:CONNECT,4,1\n>CLIENT:ENV,END_x=1\n>CLIENT:ENV,ENDING\n>CLIENT:ENV,common_name=alice\n",
  );
  assertEquals(out.events, [], "the block ended before its END");
  const event = only(core.push(">CLIENT:ENV,END\n").events);
  // ENDING has no "=": the block is malformed and dropped whole, not cut short and delivered.
  assert(event.type === "warning", `not dropped: ${JSON.stringify(event)}`);
  assertEquals([event.code, event.cid, event.kid], ["malformed-line", 4, 1]);
});

Deno.test("push() keeps a block whose names merely start with END", () => {
  const core = new ManagementProtocol();
  const event = only(
    core.push(
      ">CLIENT:CONNECT,4,1\n>CLIENT:ENV,END_x=1\n>CLIENT:ENV,common_name=alice\n>CLIENT:ENV,END\n",
    ).events,
  );
  assert(event.type === "client-connect", `not delivered whole: ${JSON.stringify(event)}`);
  assertEquals([event.env.get("END_x"), event.env.get("common_name")], ["1", "alice"]);
});

Deno.test("push() drops a block with exactly one ENV line more than the limit, and keeps one at it", () => {
  const block = (lines: number) => {
    let text = ">CLIENT:CONNECT,9,2\n";
    for (let i = 0; i < lines; i++) text += `>CLIENT:ENV,k${i}=v\n`;
    return `${text}>CLIENT:ENV,END\n`;
  };
  const atLimit = only(new ManagementProtocol({ maxEnvLines: 3 }).push(block(3)).events);
  assertEquals(atLimit.type, "client-connect");
  const over = only(new ManagementProtocol({ maxEnvLines: 3 }).push(block(4)).events);
  assert(over.type === "warning", `a block over the limit was delivered: ${JSON.stringify(over)}`);
  assertEquals([over.code, over.cid, over.kid], ["env-limit", 9, 2]);
});

for (
  const [what, line] of [
    ["without =, where the next line has one", ">CLIENT:ENV,no_equals\n>CLIENT:ENV,a=b"],
    ["with an empty name", ">CLIENT:ENV,=value"],
  ]
) {
  for (const split of [false, true]) {
    Deno.test(`push() drops a block with an ENV line ${what}${split ? " (line by line)" : ""}`, () => {
      const core = new ManagementProtocol();
      const text = `>CLIENT:CONNECT,5,0\n${line}\n>CLIENT:ENV,END\n`;
      const events: ManagementEvent[] = [];
      for (const part of split ? text.split(/(?<=\n)/) : [text]) {
        events.push(...core.push(part).events);
      }
      const event = only(events);
      assert(event.type === "warning", `a malformed block was delivered: ${JSON.stringify(event)}`);
      assertEquals([event.code, event.cid, event.kid], ["malformed-line", 5, 0]);
    });
  }
}

Deno.test("push() reports an ENV line after END in the same chunk as outside any block", () => {
  const core = new ManagementProtocol();
  const events = core.push(
    ">CLIENT:CONNECT,1,1\n>CLIENT:ENV,a=b\n>CLIENT:ENV,END\n>CLIENT:ENV,late=1\n",
  ).events;
  assertEquals(events.map((event) => event.type), ["client-connect", "warning"]);
  const warning = events[1]!;
  assert(warning.type === "warning");
  assertEquals(warning.code, "env-outside-block");
});

Deno.test("push() keeps a multi-line reply line that starts with ERROR: after the first line", () => {
  const core = new ManagementProtocol();
  const status = core.expect("multi");
  const next = core.expect("single");
  const { replies } = core.push("TITLE,x\nERROR: a line of the list\nEND\nSUCCESS: done\n");
  assertEquals(replies, [
    {
      ticket: status,
      type: "lines",
      lines: ["TITLE,x", "ERROR: a line of the list"],
      truncated: false,
    },
    { ticket: next, type: "success", message: "done" },
  ]);
});
