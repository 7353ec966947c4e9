/**
 * `status 3` left unanswered. OpenVPN 2.7 prints nothing at all, not even END, when reading its
 * DCO peer statistics fails (multi.c `multi_print_status`, commit 6f9ba8bf); 2.6 always prints
 * the list. Replies are matched first in, first out, so each later reply would go to the command
 * before its own: a `client-deny` that failed would read as the `status` list's first line and a
 * `client-auth-nt`'s SUCCESS as the deny's. The link is dropped instead (`out-of-step`), and its
 * commands end as on any drop: outcome unknown.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { outcomeUnknown } from "../../../src/bridge/commander.ts";
import {
  clientAuthNt,
  clientDeny,
  type ManagementCommand,
  status3,
} from "../../../src/management/commands.ts";
import type { ManagementConnectionError } from "../../../src/management/errors.ts";
import { ManagementProtocol, type Reply } from "../../../src/management/protocol.ts";
import { upLinkCore } from "./up_link.ts";
import { logsOf } from "../../support/log_capture.ts";

const TIMEOUT_MS = 1000;

/** `status 3` as OpenVPN 2.7.6 answered it with one client connected (e2e lab, no DCO). */
const STATUS_2_7_6 = [
  "TITLE\tOpenVPN 2.7.6 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [MH/PKTINFO] [AEAD] [DCO]",
  "TIME\t2026-12-05 10:14:18\t1796465658",
  "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
  "CLIENT_LIST\talice\tudp4:10.200.12.2:33246\t10.201.12.2\t\t2497\t2331\t2026-12-05 10:14:16\t1796465656\tUNDEF\t0\t0\tAES-256-GCM",
  "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)",
  "ROUTING_TABLE\t10.201.12.2\talice\tudp4:10.200.12.2:33246\t2026-12-05 10:14:18\t1796465658",
  "GLOBAL_STATS\tMax bcast/mcast queue length\t0",
  "GLOBAL_STATS\tdco_enabled\t0",
];
/** What 2.6.14 and 2.7.6 answer to `status 3` while they hold (no server running yet). */
const STATUS_UNSUPPORTED =
  "ERROR: The 'status' command is not supported by the current daemon mode";

/** A link that is up; `ask` sends a command and records how it ended, by name. */
function upLinkAsking() {
  const { core, failures } = upLinkCore({ commandTimeoutMs: TIMEOUT_MS, maxOverdueReplies: 3 });
  const outcomes = new Map<string, Reply | ManagementConnectionError>();
  const ask = (name: string, command: ManagementCommand, now = 0) =>
    core.request(
      command,
      TIMEOUT_MS,
      now,
      (reply) => outcomes.set(name, reply),
      (error) => outcomes.set(name, error),
    );
  return { core, failures, outcomes, ask };
}

/** The one failure of the link: out-of-step, saying what was expected and what came. */
function assertOutOfStep(failures: ManagementConnectionError[], came: string): void {
  assertEquals(failures.map((error) => error.code), ["out-of-step"]);
  assertStringIncludes(failures[0]!.message, "status begins with TITLE");
  assertStringIncludes(failures[0]!.message, came);
}

Deno.test("LinkCore drops the link when status goes unanswered, giving no later reply to the wrong command", () => {
  const t = upLinkAsking();
  t.ask("status", status3());
  t.ask("deny", clientDeny(7, 1, "denied"));
  t.ask("auth", clientAuthNt(8, 1));
  // OpenVPN 2.7 writes nothing for status, then answers the two others, in order.
  t.core.receive("ERROR: client-deny command failed\r\n", 20);
  t.core.receive("SUCCESS: client-auth command succeeded\r\n", 20);

  assertOutOfStep(t.failures, '"ERROR: client-deny command failed"');
  // Neither answer reached a command: the deny's ERROR is no client list, the auth-nt's SUCCESS
  // no success of the deny.
  assertEquals([...t.outcomes.keys()], []);
  assert(!t.core.ready);
  // The socket closes (connection.ts): each command ends as unanswered, none as refused.
  t.core.close("disconnected", t.failures[0]!);
  for (const name of ["status", "deny", "auth"]) {
    const outcome = t.outcomes.get(name);
    assert(outcomeUnknown(outcome), `${name}: ${String(outcome)}`);
    assertEquals((outcome as ManagementConnectionError).cause, t.failures[0]);
  }
});

Deno.test("LinkCore drops the link when a later reply comes for a status that timed out unanswered", () => {
  const t = upLinkAsking();
  t.ask("status", status3());
  t.core.expire(TIMEOUT_MS);
  assertEquals((t.outcomes.get("status") as ManagementConnectionError).code, "timeout");
  t.ask("auth", clientAuthNt(8, 1), TIMEOUT_MS);
  t.core.receive("SUCCESS: client-auth command succeeded\r\n", TIMEOUT_MS + 5);

  assertOutOfStep(t.failures, '"SUCCESS: client-auth command succeeded"');
  assertEquals(t.outcomes.has("auth"), false);
});

Deno.test("LinkCore keeps the link for status as OpenVPN 2.7.6 answers it: the list, or ERROR while it holds", () => {
  const t = upLinkAsking();
  t.ask("list", status3());
  t.ask("held", status3());
  t.ask("deny", clientDeny(7, 1, "denied"));
  t.core.receive(
    `${
      [...STATUS_2_7_6, "END", STATUS_UNSUPPORTED, "SUCCESS: client-deny command succeeded"]
        .join("\r\n")
    }\r\n`,
    20,
  );
  assertEquals(t.failures, []);
  const reply = (name: string) => {
    const outcome = t.outcomes.get(name);
    assert(outcome !== undefined && !(outcome instanceof Error), `${name}: ${String(outcome)}`);
    const { ticket: _, ...rest } = outcome;
    return rest;
  };
  assertEquals(reply("list"), { type: "lines", lines: STATUS_2_7_6, truncated: false });
  assertEquals(reply("held"), { type: "error", message: STATUS_UNSUPPORTED.slice(7) });
  assertEquals(reply("deny"), { type: "success", message: "client-deny command succeeded" });
});

Deno.test("push() reads the statistics an OpenVPN that is no server answers to status as its reply", () => {
  const core = new ManagementProtocol();
  const status = core.expect("status");
  const deny = core.expect("single");
  // sig.c print_status, as 2.6 and 2.7 print it in client or point-to-point mode.
  const { events, replies } = core.push(
    "OpenVPN STATISTICS\r\nUpdated,2026-12-05 10:14:18\r\nEND\r\nERROR: client-deny command failed\r\n",
  );
  assertEquals(events, []);
  assertEquals(replies.map((reply) => [reply.ticket, reply.type]), [
    [status, "lines"],
    [deny, "error"],
  ]);
});

Deno.test("push() matches no reply after one out of step, until reset()", () => {
  const core = new ManagementProtocol();
  core.expect("status");
  core.expect("single");
  const out = core.push("END\r\nSUCCESS: late\r\n>LOG:1,I,still parsed\r\nTITLE\tx\r\nEND\r\n");
  assertEquals(out.replies, []);
  assertEquals(
    out.events.map((event) => event.type === "warning" ? event.code : event.type),
    ["out-of-step", "log"],
  );
  // A new connection starts in step.
  assertEquals(core.reset().abandonedTickets.length, 2);
  const ticket = core.expect("status");
  assertEquals(core.push("TITLE\tx\r\nEND\r\n").replies, [
    { ticket, type: "lines", lines: ["TITLE\tx"], truncated: false },
  ]);
});

Deno.test("LinkCore says how many events it dropped that came after the out-of-step line in the same read", async () => {
  const { core, failures, ask } = upLinkAsking();
  ask("status", status3());
  ask("deny", clientDeny(1, 1, "x"));
  const logs = await logsOf(async () =>
    await core.receive(
      ">CLIENT:CONNECT,7,1\n>CLIENT:ENV,common_name=a\n>CLIENT:ENV,END\n" +
        "SUCCESS: client-deny command succeeded\n" +
        ">CLIENT:CONNECT,8,1\n>CLIENT:ENV,common_name=b\n>CLIENT:ENV,END\n",
      0,
    )
  );
  assertOutOfStep(failures, "SUCCESS: client-deny command succeeded");
  const dropped = logs.filter((line) => line.text.includes("dropped"));
  assertEquals(dropped.map((line) => [line.level, line.properties["count"]]), [["warning", 1]]);
});
