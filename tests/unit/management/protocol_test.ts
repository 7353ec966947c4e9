import { assert, assertEquals } from "../../support/assert.ts";
import {
  type ManagementEvent,
  ManagementProtocol,
  REPLY_LINE_OVERHEAD_CHARS,
} from "../../../src/management/protocol.ts";

function eventsOf(text: string, core = new ManagementProtocol()): ManagementEvent[] {
  return core.push(text).events;
}

const ONE_LINE_EVENTS: Array<[string, ManagementEvent]> = [
  [
    ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info",
    {
      type: "info",
      message: "OpenVPN Management Interface Version 5 -- type 'help' for more info",
    },
  ],
  [">HOLD:Waiting for hold release:0", { type: "hold", message: "Waiting for hold release:0" }],
  [
    ">PASSWORD:Need 'Auth' username/password",
    { type: "password", message: "Need 'Auth' username/password" },
  ],
  [
    ">PASSWORD:Verification Failed: 'Auth' ['SSO login was not completed']",
    { type: "password", message: "Verification Failed: 'Auth' ['SSO login was not completed']" },
  ],
  [
    ">LOG:1795879137,D,MANAGEMENT: CMD 'hold'",
    { type: "log", time: 1795879137, flags: "D", message: "MANAGEMENT: CMD 'hold'" },
  ],
  [
    ">LOG:1795879137,,message, with commas",
    { type: "log", time: 1795879137, flags: "", message: "message, with commas" },
  ],
  [
    ">STATE:1795879312,CONNECTED,SUCCESS,10.201.0.2,10.200.0.1,1194,,",
    {
      type: "state",
      time: 1795879312,
      state: "CONNECTED",
      description: "SUCCESS",
      details: ["10.201.0.2", "10.200.0.1", "1194", "", ""],
    },
  ],
  [">STATE:1795879310,WAIT", {
    type: "state",
    time: 1795879310,
    state: "WAIT",
    description: "",
    details: [],
  }],
  [">INFOMSG:WEB_AUTH::http://127.0.0.1:9999/x", {
    type: "infomsg",
    message: "WEB_AUTH::http://127.0.0.1:9999/x",
  }],
  [">NOTIFY:info,remote-exit,EXIT", {
    type: "unknown",
    name: "NOTIFY",
    payload: "info,remote-exit,EXIT",
  }],
  [">BYTECOUNT_CLI:0,2513,2670", {
    type: "unknown",
    name: "BYTECOUNT_CLI",
    payload: "0,2513,2670",
  }],
  [
    ">CLIENT:ADDRESS,0,10.201.0.2,1",
    { type: "client-address", cid: 0, address: "10.201.0.2", primary: true },
  ],
  [">CLIENT:ADDRESS,7,fd00::2,0", {
    type: "client-address",
    cid: 7,
    address: "fd00::2",
    primary: false,
  }],
  [">CLIENT:PF,3,x", { type: "unknown", name: "CLIENT", payload: "PF,3,x" }],
  ["ENTER PASSWORD:", { type: "password-prompt" }],
];

for (const [line, expected] of ONE_LINE_EVENTS) {
  Deno.test(`push() parses ${JSON.stringify(line.slice(0, 40))}`, () => {
    assertEquals(eventsOf(`${line}\r\n`), [expected]);
  });
}

const MALFORMED_LINES = [
  ">",
  ">:x",
  ">lower:case",
  ">LOG:notatime,D,x",
  ">LOG:123",
  ">STATE:abc,WAIT",
  ">STATE:123,",
  ">CLIENT:ADDRESS,x,10.0.0.1,1",
  ">CLIENT:ADDRESS,1,10.0.0.1,2",
  ">CLIENT:ADDRESS,1,,1",
];

for (const line of MALFORMED_LINES) {
  Deno.test(`push() reports malformed ${JSON.stringify(line)} as a warning and skips it`, () => {
    const events = eventsOf(`${line}\n`);
    assertEquals(events.map((event) => event.type === "warning" ? event.code : event.type), [
      "malformed-line",
    ]);
  });
}

Deno.test("push() moves an Auth-Token out of the >PASSWORD message", () => {
  const [event] = eventsOf(">PASSWORD:Auth-Token:SESS_ID_AT_secretvalue\n");
  assert(event?.type === "password");
  assertEquals(event.message, "Auth-Token:***");
  assertEquals(event.authToken?.reveal(), "SESS_ID_AT_secretvalue");
  assertEquals(JSON.stringify(event).includes("secretvalue"), false);
});

const BLOCKS: Array<[string, string, Record<string, unknown>]> = [
  [">CLIENT:CONNECT,0,1", "client-connect", { cid: 0, kid: 1 }],
  [">CLIENT:REAUTH,12,5", "client-reauth", { cid: 12, kid: 5 }],
  [">CLIENT:ESTABLISHED,3", "client-established", { cid: 3 }],
  [">CLIENT:DISCONNECT,3", "client-disconnect", { cid: 3 }],
  [">CLIENT:CR_RESPONSE,0,1,MTIzNDU2", "client-cr-response", {
    cid: 0,
    kid: 1,
    response: "MTIzNDU2",
  }],
];

for (const [header, type, fields] of BLOCKS) {
  Deno.test(`push() emits ${type} with its ENV map only at ENV,END`, () => {
    const core = new ManagementProtocol();
    const text =
      `${header}\r\n>CLIENT:ENV,common_name=alice\r\n>CLIENT:ENV,tls_id_0=CN=alice\r\n>CLIENT:ENV,empty=\r\n`;
    assertEquals(core.push(text).events, []);
    const [event, ...rest] = core.push(">CLIENT:ENV,END\r\n").events;
    assertEquals(rest, []);
    assertEquals({ ...event, env: undefined }, { type, ...fields, env: undefined });
    assert(event !== undefined && "env" in event);
    const names = ["common_name", "tls_id_0", "empty", "CN", "absent"];
    assertEquals(names.map((name) => event.env.get(name)), [
      "alice",
      "CN=alice",
      "",
      undefined,
      undefined,
    ]);
  });
}

Deno.test("push() matches SUCCESS and ERROR replies to tickets in FIFO order", () => {
  const core = new ManagementProtocol();
  const a = core.expect("single");
  const b = core.expect("single");
  const c = core.expect("multi");
  const out = core.push("SUCCESS: pid=42\r\nERROR: unknown command\r\nline 1\r\n\r\nEND\r\n");
  assertEquals(out.replies, [
    { ticket: a, type: "success", message: "pid=42" },
    { ticket: b, type: "error", message: "unknown command" },
    { ticket: c, type: "lines", lines: ["line 1", ""], truncated: false },
  ]);
  assertEquals(core.stats().pendingTickets, 0);
});

Deno.test("push() ends a multi-line reply early on ERROR as its first line", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("multi");
  const next = core.expect("single");
  const out = core.push("ERROR: The 'status' command is not supported\nSUCCESS: ok\n");
  assertEquals(out.replies, [
    { ticket, type: "error", message: "The 'status' command is not supported" },
    { ticket: next, type: "success", message: "ok" },
  ]);
});

Deno.test("push() routes > lines inside a multi-line reply and a pending reply as events, and tells where each reply came among them", () => {
  const core = new ManagementProtocol();
  const status = core.expect("multi");
  const deny = core.expect("single");
  const out = core.push(
    [
      "TITLE\tOpenVPN",
      ">CLIENT:CONNECT,4,1",
      ">CLIENT:ENV,common_name=bob",
      ">CLIENT:ENV,END",
      "GLOBAL_STATS\tdco_enabled\t0",
      "END",
      ">LOG:1,I,between",
      "SUCCESS: client-deny command succeeded",
      "",
    ].join("\r\n"),
  );
  assertEquals(out.replies, [
    {
      ticket: status,
      type: "lines",
      lines: ["TITLE\tOpenVPN", "GLOBAL_STATS\tdco_enabled\t0"],
      truncated: false,
    },
    { ticket: deny, type: "success", message: "client-deny command succeeded" },
  ]);
  assertEquals(out.events.map((event) => event.type), ["client-connect", "log"]);
  // The list ends after the block (read inside it), the deny's answer after the >LOG line.
  assertEquals(out.replies.map((_, index) => core.eventsBefore(index)), [1, 2]);
});

Deno.test("push() joins partial lines across chunks and accepts bare \\n", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("single");
  assertEquals(core.push("SUCC").replies, []);
  assertEquals(core.push("ESS: pid=1\r").replies, []);
  assertEquals(core.push("\n").replies, [{ ticket, type: "success", message: "pid=1" }]);
  assertEquals(core.push(">INFO:a\n>INFO:b\r\n").events.length, 2);
});

Deno.test("push() recognises ENTER PASSWORD: without a line end, also split across chunks", () => {
  const core = new ManagementProtocol();
  assertEquals(core.push("ENTER PASS").events, []);
  assertEquals(core.push("WORD:").events, [{ type: "password-prompt" }]);
  const ticket = core.expect("single");
  // A line end after the prompt is not taken as a reply to the password.
  assertEquals(core.push("\r\nSUCCESS: password is correct\r\n").replies, [
    { ticket, type: "success", message: "password is correct" },
  ]);
});

Deno.test("push() warns about reply lines no command waits for", () => {
  const [event] = eventsOf("SUCCESS: stray\n");
  assert(event?.type === "warning");
  assertEquals(event.code, "unexpected-reply");
});

Deno.test("push() answers a single-line ticket that gets a non SUCCESS/ERROR line with an error", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("single");
  const out = core.push("OpenVPN Version: x\n");
  assertEquals(out.replies.map((reply) => [reply.ticket, reply.type]), [[ticket, "error"]]);
});

Deno.test("push() drops an overlong line up to its newline and keeps the next line", () => {
  const core = new ManagementProtocol({ maxLineChars: 100 });
  const first = core.push(`>INFO:${"x".repeat(200)}`);
  assertEquals(first.events.map((event) => event.type === "warning" ? event.code : event.type), [
    "line-too-long",
  ]);
  assert(core.stats().bufferedChars === 0);
  assertEquals(core.push("y".repeat(5000)).events, []);
  assertEquals(core.push("still dropped\n>INFO:next\n").events, [{
    type: "info",
    message: "next",
  }]);
});

Deno.test("push() drops a block with more ENV lines than the limit and names its cid and kid", () => {
  const core = new ManagementProtocol({ maxEnvLines: 3 });
  let text = ">CLIENT:CONNECT,9,2\n";
  for (let i = 0; i < 10; i++) text += `>CLIENT:ENV,k${i}=v\n`;
  assertEquals(core.push(text).events, []);
  assertEquals(core.stats().bufferedChars, 0);
  const events = core.push(">CLIENT:ENV,END\n").events;
  assertEquals(events.length, 1);
  const [warning] = events;
  assert(warning?.type === "warning");
  assertEquals([warning.code, warning.cid, warning.kid], ["env-limit", 9, 2]);
});

Deno.test("push() reads a name sent twice as its first value, and says nothing of either value", () => {
  const core = new ManagementProtocol();
  const out = core.push(
    ">CLIENT:CONNECT,1,1\n>CLIENT:ENV,password=first-secret\n>CLIENT:ENV,password=second-secret\n>CLIENT:ENV,END\n",
  );
  assertEquals(out.events.length, 1);
  const [connect] = out.events;
  assert(connect?.type === "client-connect");
  assertEquals(connect.env.get("password"), "first-secret");
});

Deno.test("push() drops a block with a malformed ENV line whole, once, naming its cid and kid", () => {
  const core = new ManagementProtocol();
  const out = core.push(
    ">CLIENT:CONNECT,1,4\n>CLIENT:ENV,password=a-secret\n>CLIENT:ENV,novalue\n>CLIENT:ENV,novalue2\n>CLIENT:ENV,END\n",
  );
  assertEquals(out.events.length, 1);
  const [warning] = out.events;
  assert(warning?.type === "warning");
  assertEquals([warning.code, warning.cid, warning.kid], ["malformed-line", 1, 4]);
  const text = JSON.stringify(warning);
  assertEquals(/secret|novalue/.test(text), false, text);
});

Deno.test("push() names the client of a malformed block header when its ids still parse", () => {
  const cases: Array<[string, number | undefined, number | undefined]> = [
    [">CLIENT:CONNECT,5,1,extra", 5, 1],
    [">CLIENT:REAUTH,5,x", 5, undefined],
    [">CLIENT:CR_RESPONSE,5,2,not base64!", 5, 2],
    [">CLIENT:DISCONNECT,5,extra", 5, undefined],
    [">CLIENT:CONNECT,x,1", undefined, undefined],
  ];
  for (const [header, cid, kid] of cases) {
    const out = new ManagementProtocol().push(`${header}\n>CLIENT:ENV,a=b\n>CLIENT:ENV,END\n`);
    assertEquals(
      out.events.map((event) => event.type === "warning" ? [event.code, event.cid, event.kid] : []),
      [["malformed-line", cid, kid]],
      header,
    );
  }
});

Deno.test("push() drops an unfinished block when a new header arrives", () => {
  const core = new ManagementProtocol();
  const out = core.push(
    ">CLIENT:CONNECT,1,1\n>CLIENT:ENV,a=b\n>CLIENT:CONNECT,2,1\n>CLIENT:ENV,END\n",
  );
  const summary = out.events.map((event) =>
    event.type === "warning"
      ? `${event.code}:${event.cid}`
      : `${event.type}:${"cid" in event ? event.cid : ""}`
  );
  assertEquals(summary, ["incomplete-block:1", "client-connect:2"]);
});

Deno.test("push() skips the ENV lines of a malformed block header up to its END", () => {
  const core = new ManagementProtocol();
  const out = core.push(">CLIENT:CONNECT,x,1\n>CLIENT:ENV,a=b\n>CLIENT:ENV,END\n>INFO:after\n");
  assertEquals(out.events.map((event) => event.type === "warning" ? event.code : event.type), [
    "malformed-line",
    "info",
  ]);
});

Deno.test("push() reports a run of stray ENV lines once", () => {
  const out = new ManagementProtocol().push(">CLIENT:ENV,a=1\n>CLIENT:ENV,b=2\n>CLIENT:ENV,END\n");
  assertEquals(out.events.map((event) => event.type === "warning" ? event.code : event.type), [
    "env-outside-block",
  ]);
});

Deno.test("reset() drops a half block without emitting it and returns the open tickets", () => {
  const core = new ManagementProtocol();
  const a = core.expect("single");
  const b = core.expect("multi");
  core.push(">CLIENT:CONNECT,5,1\n>CLIENT:ENV,common_name=x\nSUCC");
  const { events, abandonedTickets } = core.reset();
  assertEquals(abandonedTickets, [a, b]);
  assertEquals(
    events.map((event) => event.type === "warning" ? [event.code, event.cid] : event.type),
    [
      ["incomplete-block", 5],
    ],
  );
  assertEquals(core.stats(), { bufferedChars: 0, pendingTickets: 0, openBlockEnvLines: 0 });
  assertEquals(core.push(">CLIENT:ENV,END\n").events.map((event) => event.type), ["warning"]);
});

Deno.test("push() truncates a multi-line reply beyond the size limit but still ends it at END", () => {
  // Room for two of the ten-character lines.
  const core = new ManagementProtocol({ maxReplyChars: 2 * (10 + REPLY_LINE_OVERHEAD_CHARS) });
  const ticket = core.expect("multi");
  const out = core.push("0123456789\n0123456789\n0123456789\nEND\n");
  assertEquals(out.replies, [{
    ticket,
    type: "lines",
    lines: ["0123456789", "0123456789"],
    truncated: true,
  }]);
  assertEquals(out.events.map((event) => event.type === "warning" ? event.code : event.type), [
    "reply-too-long",
  ]);
});

Deno.test("push() keeps the whole client list of a server with 100,000 clients with the default limits", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("multi");
  // Lines as OpenVPN 2.6 prints them, with a 64-character common name and an IPv6 peer:
  // ~197 characters each, ~20 MB in all.
  const name = "c".repeat(64);
  const lines = Array.from(
    { length: 100_000 },
    (_, cid) =>
      `CLIENT_LIST\t${name}\t[2001:db8::${cid.toString(16)}]:51560\t10.201.${cid >> 8 & 255}.${
        cid & 255
      }\t\t1234567890\t987654321\t2026-11-28 15:19:13\t1795879153\tUNDEF\t${cid}\t${cid}\tAES-256-GCM`,
  );
  const replies = [];
  // In 64 KiB chunks, as the socket delivers them.
  const text = `${lines.join("\n")}\nEND\n`;
  for (let at = 0; at < text.length; at += 65_536) {
    replies.push(...core.push(text.slice(at, at + 65_536)).replies);
  }
  assert(text.length > 19_000_000, `${text.length}`);
  assertEquals(replies.length, 1);
  assertEquals(replies[0]!.ticket, ticket);
  assert(
    replies[0]!.type === "lines" && !replies[0]!.truncated && replies[0]!.lines.length === 100_000,
  );
});

Deno.test("push() drops a block whose ENV line is too long, once, naming its client, whatever the chunking", () => {
  const text = `>CLIENT:CONNECT,3,7\n>CLIENT:ENV,common_name=alice\n>CLIENT:ENV,IV_SSO=${
    "w".repeat(9000)
  }\n>CLIENT:ENV,END\n>INFO:after\n`;
  for (const size of [text.length, 4096, 100]) {
    const core = new ManagementProtocol();
    const events = [];
    for (let i = 0; i < text.length; i += size) {
      events.push(...core.push(text.slice(i, i + size)).events);
    }
    assertEquals(
      events.map((event) =>
        event.type === "warning" ? [event.code, event.cid, event.kid] : event.type
      ),
      [["line-too-long", 3, 7], "info"],
      `chunks of ${size}`,
    );
  }
});
