import { assert, assertEquals } from "../../support/assert.ts";
import type { ManagementEvent } from "../../../src/management/protocol.ts";
import { loadTranscript, replay, transcriptNames } from "./transcript_loader.ts";

type Summary = { type: string; cid?: number; kid?: number; sessionId?: string | undefined };

function clientEvents(events: ManagementEvent[]): Summary[] {
  const out: Summary[] = [];
  for (const event of events) {
    switch (event.type) {
      case "client-connect":
      case "client-reauth":
      case "client-cr-response":
        out.push({
          type: event.type,
          cid: event.cid,
          kid: event.kid,
          sessionId: event.env.get("session_id"),
        });
        break;
      case "client-established":
      case "client-disconnect":
        out.push({ type: event.type, cid: event.cid, sessionId: event.env.get("session_id") });
        break;
      case "client-address":
        out.push({ type: event.type, cid: event.cid });
        break;
    }
  }
  return out;
}

function warnings(events: ManagementEvent[]) {
  return events.filter((event) => event.type === "warning");
}

const SESSION = "oX2I+yC4LfiB69r8";

Deno.test("reauth transcript gives CONNECT 0/1, then REAUTH with new kids and the same session_id", () => {
  const result = replay(loadTranscript("reauth.server-mgmt.txt"));
  assertEquals(warnings(result.events), []);
  assertEquals(clientEvents(result.events), [
    { type: "client-connect", cid: 0, kid: 1, sessionId: SESSION },
    { type: "client-address", cid: 0 },
    { type: "client-established", cid: 0, sessionId: SESSION },
    { type: "client-reauth", cid: 0, kid: 3, sessionId: SESSION },
    { type: "client-reauth", cid: 0, kid: 4, sessionId: SESSION },
    { type: "client-reauth", cid: 0, kid: 5, sessionId: SESSION },
    { type: "client-disconnect", cid: 0, sessionId: SESSION },
  ]);
  const connect = result.events.find((event) => event.type === "client-connect");
  assert(connect?.type === "client-connect");
  assertEquals(connect.env.get("common_name"), "alice");
  assertEquals(connect.env.get("IV_SSO"), "webauth");
  assertEquals(connect.env.get("session_state"), "Initial");
  assertEquals(connect.env.get("tls_id_0"), "CN=alice"); // split at the first "=" only
  // The block's first and last ENV lines: none lost on the way.
  assertEquals([connect.env.get("n_clients"), connect.env.get("redirect_gateway")], ["0", "0"]);
  const reauth = result.events.find((event) => event.type === "client-reauth");
  assert(reauth?.type === "client-reauth");
  assertEquals(reauth.env.get("session_state"), "Authenticated");
  assert(reauth.env.get("password")?.startsWith("SESS_ID_AT_"));
});

Deno.test("reauth transcript matches every reply to its command in order", () => {
  const result = replay(loadTranscript("reauth.server-mgmt.txt"));
  const byTicket = new Map(result.replies.map((reply) => [reply.ticket, reply]));
  const answered = result.tickets.map(({ command, tickets }) => ({
    command: command.split("\n")[0],
    replies: tickets.map((ticket) => byTicket.get(ticket)),
  }));
  assertEquals(answered.length, 12);
  assertEquals(result.replies.length, 12);
  const [versionStep, pidStep, stateStep, holdStep, statusStep, logStep] = answered;
  assertEquals(versionStep?.replies[0], {
    ticket: 1,
    type: "lines",
    truncated: false,
    lines: [
      "OpenVPN Version: OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]",
      "Management Version: 5",
    ],
  });
  assertEquals(pidStep?.replies[0], { ticket: 2, type: "success", message: "pid=18841" });
  assertEquals(stateStep?.replies[0]?.type, "lines");
  assertEquals(holdStep?.replies[0], { ticket: 4, type: "success", message: "hold=0" });
  const status = statusStep?.replies[0];
  assert(status?.type === "lines");
  assertEquals(status.lines.length, 6);
  assert(status.lines[0]?.startsWith("TITLE\t"));
  const log = logStep?.replies[0];
  assert(log?.type === "lines");
  assertEquals(log.lines, [
    "1795878888,D,MANAGEMENT: CMD 'hold'",
    "1795878888,D,MANAGEMENT: CMD 'status 3'",
    "1795878888,D,MANAGEMENT: CMD 'log 3'",
  ]);
  assertEquals(
    answered.slice(6).map((step) => [step.command, step.replies.map((reply) => reply?.type)]),
    [
      ['client-pending-auth 0 1 "WEB_AUTH::http://127.0.0.1:9999/x" 120', ["success"]],
      ["client-auth 0 1", ["success"]],
      ["status 3", ["lines"]],
      ["client-auth-nt 0 3", ["success"]],
      ["client-auth-nt 0 4", ["success"]],
      ["client-auth-nt 0 5", ["success"]],
    ],
  );
});

Deno.test("every status 3 of the recorded OpenVPN 2.6 servers is read as a list beginning with TITLE", () => {
  let lists = 0;
  for (const name of transcriptNames()) {
    const result = replay(loadTranscript(name));
    assertEquals(warnings(result.events), [], name);
    for (const { command, tickets } of result.tickets) {
      if (command !== "status 3") continue;
      const reply = result.replies.find((candidate) => candidate.ticket === tickets[0]);
      assert(reply?.type === "lines" && reply.lines[0]?.startsWith("TITLE\t"), name);
      assert(reply.lines.at(-1)?.startsWith("GLOBAL_STATS\t"), `${name}: the list up to its END`);
      lists++;
    }
  }
  assert(lists >= 6, `only ${lists} status 3 replies recorded`);
});

Deno.test("transcripts give identical events and replies, in the same order, whatever the chunk size", () => {
  for (
    const name of [
      "reauth.server-mgmt.txt",
      "kill-restart.server-mgmt.txt",
      "crtext.server-mgmt.txt",
    ]
  ) {
    const steps = loadTranscript(name);
    const whole = replay(steps);
    for (const size of [1, 2, 7, 64, 1000]) {
      const chunked = replay(steps, size);
      assertEquals(chunked.events, whole.events, `${name} in chunks of ${size}`);
      assertEquals(chunked.replies, whole.replies, `${name} in chunks of ${size}`);
      assertEquals(chunked.eventsBefore, whole.eventsBefore, `${name} in chunks of ${size}`);
    }
  }
});

Deno.test("crtext transcript gives CR_RESPONSE with its base64 answer and ENV block", () => {
  const result = replay(loadTranscript("crtext.server-mgmt.txt"));
  assertEquals(warnings(result.events), []);
  const summary = clientEvents(result.events).map(({ type, cid, kid }) => ({ type, cid, kid }));
  assertEquals(summary, [
    { type: "client-connect", cid: 0, kid: 1 },
    { type: "client-cr-response", cid: 0, kid: 1 },
    { type: "client-address", cid: 0, kid: undefined },
    { type: "client-established", cid: 0, kid: undefined },
    { type: "client-disconnect", cid: 0, kid: undefined },
  ]);
  const cr = result.events.find((event) => event.type === "client-cr-response");
  assert(cr?.type === "client-cr-response");
  assertEquals(cr.response, "MTIzNDU2");
  assertEquals(atob(cr.response), "123456");
});

Deno.test("deny transcript gives DISCONNECT with its ENV block and a client-deny reply", () => {
  const result = replay(loadTranscript("deny.server-mgmt.txt"));
  assertEquals(warnings(result.events), []);
  const types = clientEvents(result.events).map((event) => event.type);
  assertEquals(types, ["client-connect", "client-disconnect"]);
  const connect = result.events.find((event) => event.type === "client-connect");
  assert(connect?.type === "client-connect");
  assertEquals(connect.env.get("username"), "");
  assertEquals(connect.env.get("password"), "");
  assertEquals(result.replies.at(-1), {
    ticket: 7,
    type: "success",
    message: "client-deny command succeeded",
  });
});

Deno.test("kill-restart transcript keeps cids apart across a client-kill and reconnect", () => {
  const result = replay(loadTranscript("kill-restart.server-mgmt.txt"));
  assertEquals(warnings(result.events), []);
  const summary = clientEvents(result.events)
    .filter((event) => event.type !== "client-address")
    .map(({ type, cid, kid }) => `${type}:${cid}${kid === undefined ? "" : `/${kid}`}`);
  assert(summary.includes("client-connect:0/1"));
  assert(summary.includes("client-disconnect:0"));
  assert(summary.some((entry) => /^client-connect:[12]\/1$/.test(entry)), summary.join(" "));
  for (const { tickets } of result.tickets) {
    for (const ticket of tickets) {
      assert(result.replies.some((reply) => reply.ticket === ticket), `ticket ${ticket} answered`);
    }
  }
});

Deno.test("client-side transcript gives HOLD, STATE, INFOMSG WEB_AUTH and two replies for echo on all", () => {
  const result = replay(loadTranscript("pending.client-mgmt.txt"));
  assertEquals(warnings(result.events), []);
  const types = result.events.map((event) => event.type);
  assertEquals(types.slice(0, 2), ["info", "hold"]);
  const pending = result.events.find((event) =>
    event.type === "state" && event.state === "AUTH_PENDING"
  );
  assertEquals(pending, {
    type: "state",
    time: 1795879310,
    state: "AUTH_PENDING",
    description: "timeout 120",
    details: ["", "", "", "", ""],
  });
  assert(
    result.events.some((event) =>
      event.type === "infomsg" && event.message === "WEB_AUTH::http://127.0.0.1:9999/x"
    ),
  );
  assert(result.events.some((event) => event.type === "unknown" && event.name === "ECHO"));
  const echo = result.tickets.find((step) => step.command === "echo on all");
  assertEquals(echo?.tickets.length, 2);
  const echoReplies = result.replies.filter((reply) => echo?.tickets.includes(reply.ticket));
  assertEquals(echoReplies.map((reply) => reply.type), ["success", "lines"]);
});
