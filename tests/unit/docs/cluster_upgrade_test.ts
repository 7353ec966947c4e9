/**
 * docs/cluster.md, "Upgrading the instances": this version keeps the Redis layout of the previous
 * one (d66055d), so instances of both share leases, work queues and sessions while a cluster is
 * upgraded one instance at a time. Pinned here as the previous version has them: the Lua scripts
 * (by SHA-1, the name Redis runs them by), the cluster's keys and the work items it reads. A
 * change to any of them fails this test: the section must then say what a cluster of both
 * versions does, and the pins move on to this version.
 */
import { createHash } from "node:crypto";
import { assertEquals } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import * as clusterScripts from "../../../src/cluster/redis_scripts.ts";
import { SCRIPTS } from "../../../src/sessions/redis_scripts.ts";
import { serverNameClaimKey } from "../../../src/cluster/server_name_claims.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";
import { decodeWork, encodeWork, execute, type WorkOp } from "../../../src/cluster/work_item.ts";
import { killMessage } from "../../../src/bridge/session_end.ts";
import { localizedCommander } from "../../../src/bridge/client_messages.ts";

const DOC = new URL("../../../docs/cluster.md", import.meta.url);

/** The section, its line breaks joined. */
async function upgradeSection(): Promise<string> {
  const doc = (await Deno.readTextFile(DOC)).replace(/\s+/g, " ");
  const start = doc.indexOf("## Upgrading the instances");
  const end = doc.indexOf("## What each failure does", start);
  assertEquals(start >= 0 && end > start, true, "docs/cluster.md has an upgrade section");
  return doc.slice(start, end);
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** One digest of the SHA-1s of `scripts`, by name. */
function digestOf(scripts: Record<string, string>): string {
  return sha1(
    Object.keys(scripts).sort().map((name) => `${name} ${sha1(scripts[name]!)}\n`).join(""),
  );
}

Deno.test("the previous version's Lua scripts, unchanged (docs/cluster.md, Upgrading the instances)", async () => {
  // One session script changed since d66055d (getSessions' reply, ac0f5f0): the section says
  // that each instance runs its own version's scripts, by SHA-1.
  assertEquals((await upgradeSection()).includes("The Lua scripts are the same but one"), true);
  assertEquals((await upgradeSection()).includes("Redis runs each script by its SHA-1"), true);
  const { ACQUIRE, RENEW, RELEASE, ENQUEUE, TAKE, RECORD } = clusterScripts;
  // `git diff ac0f5f0 -- src/cluster/redis_scripts.ts src/sessions/redis_scripts.ts` says which.
  assertEquals(
    digestOf({ ACQUIRE, RENEW, RELEASE, ENQUEUE, TAKE, RECORD }),
    "959dbeff8ae19a57ec133e18b18485c96f533626",
  );
  assertEquals(digestOf(SCRIPTS), "51b0b698fdf8587f70dced54227336e1ef51b5a7");
});

Deno.test("the previous version's cluster keys, unchanged", async () => {
  assertEquals((await upgradeSection()).includes("the same keys"), true);
  const keys = new ClusterKeys("p:");
  assertEquals([
    keys.lease("udp"),
    keys.fence("udp"),
    keys.queue("udp"),
    keys.running("udp"),
    keys.item("udp", "k"),
    keys.outcome("udp", "k"),
    keys.channel("udp"),
    keys.outcomeChannel("udp"),
    serverNameClaimKey("p:", "udp"),
  ], [
    "p:c:lease:udp",
    "p:c:fence:udp",
    "p:c:q:udp",
    "p:c:run:udp",
    "p:c:w:udp:k",
    "p:c:o:udp:k",
    "p:c:n:udp",
    "p:c:d:udp",
    "p:o:udp",
  ]);
});

const SIGN_IN = { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "28115@1795879225:CONNECTED" };
const EXPIRES_AT = 1_800_000_000_000;

/** Each kind of work item, and the text the previous version writes and reads for it. */
const ITEMS: Array<[WorkOp, string]> = [
  [
    { op: "auth", cid: 4, kid: 1, lines: ['push "route 10.0.0.0 255.0.0.0"'], signIn: SIGN_IN },
    '{"op":"auth","cid":4,"kid":1,"lines":["push \\"route 10.0.0.0 255.0.0.0\\""],"signIn":' +
    '{"loginId":"AAAAAAAAAAAAAAAAAAAAAA","openvpnRun":"28115@1795879225:CONNECTED"},' +
    `"expiresAt":${EXPIRES_AT}}`,
  ],
  [
    { op: "auth-nt", cid: 4, kid: 2 },
    `{"op":"auth-nt","cid":4,"kid":2,"expiresAt":${EXPIRES_AT}}`,
  ],
  [
    {
      op: "deny",
      cid: 4,
      kid: 1,
      reason: "timeout",
      clientReason: "Sign-in was not completed in time. Reconnect to try again.",
      signIn: SIGN_IN,
      timedOut: { commonName: "laptop-1", clientIp: "198.51.100.7" },
      halt: true,
    },
    '{"op":"deny","cid":4,"kid":1,"reason":"timeout","clientReason":"Sign-in was not completed ' +
    'in time. Reconnect to try again.","signIn":{"loginId":"AAAAAAAAAAAAAAAAAAAAAA",' +
    '"openvpnRun":"28115@1795879225:CONNECTED"},"timedOut":{"commonName":"laptop-1",' +
    `"clientIp":"198.51.100.7"},"halt":true,"expiresAt":${EXPIRES_AT}}`,
  ],
  [
    { op: "pending-auth", cid: 4, kid: 1, url: "https://vpn.example.com/login/x", timeoutSec: 180 },
    '{"op":"pending-auth","cid":4,"kid":1,"url":"https://vpn.example.com/login/x",' +
    `"timeoutSec":180,"expiresAt":${EXPIRES_AT}}`,
  ],
  [
    { op: "kill", cid: 4, message: "RESTART", openvpnRun: SIGN_IN.openvpnRun },
    '{"op":"kill","cid":4,"message":"RESTART","openvpnRun":"28115@1795879225:CONNECTED",' +
    `"expiresAt":${EXPIRES_AT}}`,
  ],
];

Deno.test("the previous version's work items: written and read as it does", async () => {
  assertEquals((await upgradeSection()).includes("the same work items"), true);
  for (const [op, text] of ITEMS) {
    assertEquals(encodeWork(op, EXPIRES_AT), text, op.op);
    assertEquals(decodeWork(text), op, op.op);
  }
});

Deno.test("a revoke's client-kill text is the deciding instance's, put in the holder's language", async () => {
  const text = await upgradeSection();
  assertEquals(text.includes("builds the `client-kill` message, and it goes as built"), true, text);
  const message = killMessage("admin-revoke");
  assertEquals(message, "RESTART,An administrator ended your VPN session");
  const item = decodeWork(encodeWork({ op: "kill", cid: 4, message }, EXPIRES_AT))!;
  const english = new RecordingCommander();
  const german = new RecordingCommander();
  await execute(english, item);
  await execute(localizedCommander(german, () => "de"), item);
  assertEquals(english.commands, [{ kind: "kill", cid: 4, message }]);
  assertEquals(german.commands, [{
    kind: "kill",
    cid: 4,
    message: "RESTART,Ein Administrator hat Ihre VPN-Sitzung beendet",
  }]);
});
