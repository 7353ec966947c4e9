import { assert, assertEquals } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import {
  decodeOutcome,
  decodeWork,
  encodeOutcome,
  encodeWork,
  execute,
  workDecision,
  workKey,
  type WorkOp,
} from "../../../src/cluster/work_item.ts";

/** A login id of this version (time part and random part); one made before it has 22. */
const SIGN_IN_ID = "BkZaQ" + "AAAAAAAAAAAAAAAAAAAAAA";
const OLDER_SIGN_IN_ID = "AAAAAAAAAAAAAAAAAAAAAA";

const auth: WorkOp = {
  op: "auth",
  cid: 4,
  kid: 1,
  lines: ['push "route 10.0.0.0 255.0.0.0"'],
};

Deno.test("work key: a sign-in's answer by cid, kid and OpenVPN's run; anything else by its own nonce (a cid and kid recur after a restart)", () => {
  const signIn = { loginId: SIGN_IN_ID, openvpnRun: "28115@1795879225:CONNECTED" };
  const deny = { op: "deny", cid: 4, kid: 1, reason: "r", clientReason: "c" } as const;
  assertEquals(workKey({ ...auth, signIn }, () => "n1"), "4:1:run=28115@1795879225:CONNECTED");
  assertEquals(workKey({ ...deny, signIn }, () => "n2"), workKey({ ...auth, signIn }, () => "n1"));
  const restarted = { ...signIn, openvpnRun: "28302@1795879301:CONNECTED" };
  assert(
    workKey({ ...auth, signIn: restarted }, () => "n1") !==
      workKey({ ...auth, signIn }, () => "n1"),
  );
  assertEquals(workKey(auth, () => "n3"), "4:1:n3");
  assertEquals(
    workKey({ ...auth, signIn: { ...signIn, openvpnRun: undefined } }, () => "n4"),
    "4:1:n4",
  );
  assertEquals(workKey({ op: "kill", cid: 4, message: "bye" }, () => "n5"), "kill:4:n5");
});

Deno.test("work items round-trip; malformed content from Redis is refused", () => {
  const items: WorkOp[] = [
    auth,
    { op: "auth-nt", cid: 0, kid: 0 },
    { op: "deny", cid: 1, kid: 2, reason: "r", clientReason: "c" },
    { op: "pending-auth", cid: 1, kid: 2, url: "https://x/login/a", timeoutSec: 60 },
    { op: "kill", cid: 3, message: "bye" },
    // A kill names its client's run when the requester knows it (sign_in_guard.ts).
    { op: "kill", cid: 3, message: "bye", openvpnRun: "4242@1795878880:CONNECTED" },
    // The answers to a browser sign-in carry it, for the holder's guard (sign_in_guard.ts).
    { ...auth, signIn: { loginId: SIGN_IN_ID, openvpnRun: "4242@1795878880:CONNECTED" } },
    {
      op: "deny",
      cid: 1,
      kid: 2,
      reason: "r",
      clientReason: "c",
      signIn: { loginId: SIGN_IN_ID, openvpnRun: undefined },
    },
    // Sent by an instance of an earlier version, in a cluster being upgraded.
    { ...auth, signIn: { loginId: OLDER_SIGN_IN_ID, openvpnRun: undefined } },
  ];
  for (const item of items) assertEquals(decodeWork(encodeWork(item, 5)), item);
  // Holders of earlier versions refuse an item without the requester's deadline.
  assertEquals(JSON.parse(encodeWork(auth, 1_800_000_000_000)).expiresAt, 1_800_000_000_000);
  // An earlier version wrote its deadline into the item; what is read now is the key's TTL.
  assertEquals(decodeWork('{"op":"kill","cid":3,"message":"bye","expiresAt":5}'), {
    op: "kill",
    cid: 3,
    message: "bye",
  });
  for (
    const text of [
      "",
      "null",
      "[]",
      '{"op":"auth","cid":-1,"kid":1,"lines":[]}',
      '{"op":"auth","cid":1.5,"kid":1,"lines":[]}',
      '{"op":"auth","cid":1,"kid":1,"lines":[1]}',
      '{"op":"auth","cid":1,"kid":1,"lines":"x"}',
      '{"op":"auth","cid":1,"lines":[]}',
      '{"op":"deny","cid":1,"kid":1,"reason":"r"}',
      '{"op":"kill","cid":1}',
      '{"op":"kill","cid":1,"message":"x","openvpnRun":7}',
      `{"op":"kill","cid":1,"message":"x","openvpnRun":"${"x".repeat(81)}"}`,
      '{"op":"client-kill","cid":1,"message":"x"}',
      '{"op":"auth","cid":1,"kid":1,"lines":[],"signIn":null}',
      '{"op":"auth","cid":1,"kid":1,"lines":[],"signIn":{"loginId":"short"}}',
      `{"op":"auth","cid":1,"kid":1,"lines":[],"signIn":{"loginId":"${SIGN_IN_ID}A"}}`,
      `{"op":"auth","cid":1,"kid":1,"lines":[],"signIn":{"loginId":"${SIGN_IN_ID.slice(1)}"}}`,
      `{"op":"auth","cid":1,"kid":1,"lines":[],"signIn":{"loginId":"${SIGN_IN_ID}","openvpnRun":7}}`,
      `{"op":"deny","cid":1,"kid":1,"reason":"r","clientReason":"c","signIn":{"loginId":"${SIGN_IN_ID}","openvpnRun":"${
        "x".repeat(81)
      }"}}`,
    ]
  ) {
    assertEquals(decodeWork(text), undefined, text);
  }
});

Deno.test("a held timeout deny carries the client its record is owed to; one queued by an earlier version, without it, is still a deny to carry out; a malformed one is refused", () => {
  const timedOut: WorkOp = {
    op: "deny",
    cid: 4,
    kid: 1,
    reason: "sign-in timed out",
    clientReason: "Sign-in was not completed in time. Reconnect to try again.",
    signIn: { loginId: SIGN_IN_ID, openvpnRun: "4242@1795878880:CONNECTED" },
    timedOut: { commonName: "alice", clientIp: "198.51.100.7" },
  };
  assertEquals(decodeWork(encodeWork(timedOut, 5)), timedOut);
  // A holder of an earlier version reads the fields it knows: the deny, without the record.
  const { timedOut: _owed, ...older } = timedOut;
  assertEquals(decodeWork(JSON.stringify({ ...older, expiresAt: 5 })), older);
  for (
    const owed of [
      "null",
      '"alice"',
      "[]",
      '{"commonName":"alice"}',
      '{"clientIp":"x"}',
      '{"commonName":1,"clientIp":"x"}',
    ]
  ) {
    const text = encodeWork(older, 5).replace(/}$/, `,"timedOut":${owed}}`);
    assertEquals(decodeWork(text), undefined, text);
  }
});

Deno.test("a deny sent as HALT carries the flag; a holder of an earlier version, which ignores it, still refuses the client with the deny; a malformed flag is refused", async () => {
  const halted: WorkOp = {
    op: "deny",
    cid: 4,
    kid: 1,
    reason: "group",
    clientReason: "You are not in a group allowed to use this VPN",
    signIn: { loginId: SIGN_IN_ID, openvpnRun: "4242@1795878880:CONNECTED" },
    halt: true,
  };
  assertEquals(decodeWork(encodeWork(halted, 5)), halted);
  const { halt: _flag, ...older } = halted;
  // The same request's answer: one item, whichever way it refuses.
  assertEquals(workKey(halted, () => "n"), workKey(older, () => "n"));
  const commander = new RecordingCommander();
  await execute(commander, halted);
  await execute(commander, older);
  assertEquals(commander.commands.map(({ kind }) => kind), ["halt", "deny"]);
  for (const flag of ["false", "null", '"yes"', "1"]) {
    const text = encodeWork(older, 5).replace(/}$/, `,"halt":${flag}}`);
    assertEquals(decodeWork(text), undefined, text);
  }
});

Deno.test("outcomes round-trip; unknown text is no outcome", () => {
  for (
    const outcome of [
      { kind: "ok" as const },
      { kind: "expired" as const },
      { kind: "unknown" as const },
      { kind: "refused" as const, message: "ERROR: client-auth command failed" },
    ]
  ) {
    assertEquals(decodeOutcome(encodeOutcome(outcome)), outcome);
  }
  assertEquals(decodeOutcome("success"), undefined);
});

Deno.test("work decision: done once (an outcome already recorded is not redone), expired not started", () => {
  assertEquals(workDecision(undefined, 1), "execute");
  assertEquals(workDecision({ kind: "ok" }, 1), "done");
  assertEquals(workDecision({ kind: "refused", message: "x" }, 1), "done");
  assertEquals(workDecision(undefined, 0), "expire");
  assertEquals(workDecision(undefined, -4_000), "expire");
  assertEquals(workDecision({ kind: "ok" }, -4_000), "done", "a recorded outcome stands");
});

Deno.test("execute sends each item as its one command", async () => {
  const commander = new RecordingCommander();
  await execute(commander, auth);
  await execute(commander, { op: "kill", cid: 3, message: "bye" });
  await execute(commander, { op: "kill", cid: 5, message: "bye", openvpnRun: "r" });
  await execute(commander, {
    op: "deny",
    cid: 1,
    kid: 2,
    reason: "r",
    clientReason: "c",
  });
  const signIn = { loginId: SIGN_IN_ID, openvpnRun: "4242@1795878880:CONNECTED" };
  await execute(commander, { ...auth, signIn });
  assertEquals(commander.commands, [
    { kind: "auth", cid: 4, kid: 1, lines: ['push "route 10.0.0.0 255.0.0.0"'] },
    { kind: "kill", cid: 3, message: "bye" },
    { kind: "kill", cid: 5, message: "bye", openvpnRun: "r" },
    { kind: "deny", cid: 1, kid: 2, reason: "r", clientReason: "c" },
    { kind: "auth", cid: 4, kid: 1, lines: ['push "route 10.0.0.0 255.0.0.0"'], signIn },
  ]);
});
