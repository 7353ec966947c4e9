/**
 * When LinkCore gives up on a link whose commands time out: after `maxOverdueReplies` replies are
 * overdue at once, and not before. A late reply that does come is no longer overdue, so a link
 * that is slow now and then is kept (ending it would end every login in flight on it).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { clientDeny } from "../../../src/management/commands.ts";
import { upLinkCore } from "./up_link.ts";

const TIMEOUT_MS = 1000;

/** A LinkCore that is up, at time 0, failing the link after `maxOverdueReplies` overdue. */
function upLink(maxOverdueReplies: number) {
  const { core, failures } = upLinkCore({ commandTimeoutMs: TIMEOUT_MS, maxOverdueReplies });
  let now = 0;
  /** Sends a command OpenVPN answers only after its timeout; returns how it ended. */
  const timeOut = () => {
    let outcome = "waiting";
    core.request(
      clientDeny(1, 1, "test"),
      TIMEOUT_MS,
      now,
      (reply) => (outcome = reply.type),
      (error) => (outcome = error.code),
    );
    now += TIMEOUT_MS;
    core.expire(now);
    return { outcome: () => outcome, answerLate: () => core.receive("SUCCESS: late\n", now) };
  };
  return { core, failures, timeOut };
}

Deno.test("LinkCore keeps a link whose timed-out commands were each answered late", () => {
  const t = upLink(2);
  for (let i = 0; i < 4; i++) {
    const command = t.timeOut();
    assertEquals(
      t.failures.map((error) => error.message),
      [],
      `failed at command ${i + 1} though every earlier one was answered`,
    );
    assertEquals(command.outcome(), "timeout");
    command.answerLate();
  }
  assert(t.core.ready);
});

Deno.test("LinkCore fails a link once maxOverdueReplies replies are overdue, not one before", () => {
  const t = upLink(2);
  t.timeOut();
  assertEquals(t.failures.length, 0, "failed with one reply overdue of two tolerated");
  t.timeOut();
  assertEquals(t.failures.map((error) => error.code), ["unresponsive"]);
});
