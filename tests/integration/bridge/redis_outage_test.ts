/**
 * The real bridge on a real redis-server that is frozen, stopped and restarted under a storm of
 * REAUTHs from a scripted management interface: nothing crashes, every event gets an answer,
 * the management link stays up, new sign-ins fail closed with a reason, and the sessions written
 * before the stop are there after it.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { testSession } from "../../support/client_events_fixture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import type { Session } from "../../../src/sessions/types.ts";

const CLIENTS = 200;
const FIRST_CID = 100;
const cids = Array.from({ length: CLIENTS }, (_, i) => FIRST_CID + i);

async function start(mode: "deny" | "allow"): Promise<{ h: BridgeHarness; redis: RedisServer }> {
  const redis = await RedisServer.start({ persist: true });
  try {
    const h = await BridgeHarness.start({
      sessions: "redis",
      sessionsToml: [
        `url = "${redis.url}"`,
        `store_timeout = "300ms"`,
        `store_unreachable = "${mode}"`,
      ].join("\n"),
    });
    return { h, redis };
  } catch (error) {
    await redis.dispose();
    throw error;
  }
}

/** Sessions for the storm's clients, written by another bridge sharing the same Redis. */
async function seedSessions(h: BridgeHarness): Promise<Session[]> {
  const store = await openSessionStore(h.config.sessions, h.config.http.secret);
  const now = Date.now();
  const sessions = cids.map((cid): Session =>
    testSession({
      sessionId: `s-${cid}`,
      cid,
      commonName: `client-${cid}`,
      username: `user-${cid}`,
      claims: { sub: `u-${cid}`, preferred_username: `user-${cid}`, groups: ["/vpn-users"] },
      subject: `u-${cid}`,
      refreshToken: `rt-${cid}`,
      createdAt: now,
      lastAuthAt: now,
      expiresAt: now + 3_600_000,
    })
  );

  try {
    for (const session of sessions) await store.putSession(session);
  } finally {
    await store.close();
  }
  return sessions;
}

/** Sends a REAUTH for every client at once; returns each client's answer (command and reason). */
async function reauthStorm(
  h: BridgeHarness,
  kid: number,
  extra: Array<{ kind: "CONNECT"; cid: number; env: Record<string, string> }> = [],
): Promise<Map<number, string>> {
  const mark = h.openvpn.received.length;
  for (const cid of cids) {
    h.openvpn.sendClientBlock(
      "REAUTH",
      cid,
      kid,
      clientEnv({ common_name: `client-${cid}`, session_id: `s-${cid}` }),
    );
  }
  for (const event of extra) h.openvpn.sendClientBlock(event.kind, event.cid, 1, event.env);
  const expected = new Set([
    ...cids.map((cid) => `${cid} ${kid}`),
    ...extra.map((e) => `${e.cid} 1`),
  ]);
  const answers = new Map<number, string>();
  const deadline = Date.now() + 20_000;
  while (answers.size < expected.size && Date.now() < deadline) {
    for (const line of h.commandsSince(mark)) {
      const match = /^(client-auth-nt|client-deny|client-auth|client-pending-auth) (\d+) (\d+)(.*)$/
        .exec(line);
      if (match && expected.has(`${match[2]} ${match[3]}`)) {
        answers.set(Number(match[2]), `${match[1]}${match[4]}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assertEquals(answers.size, expected.size, "every event got an answer");
  return answers;
}

function tally(answers: Map<number, string>, only: number[] = cids): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const cid of only) {
    const answer = answers.get(cid) ?? "none";
    counts[answer] = (counts[answer] ?? 0) + 1;
  }
  return counts;
}

/** Redis back: the next storm (`round`) is accepted, no session lost, the link never dropped. */
async function assertRecovers(
  h: BridgeHarness,
  redis: RedisServer,
  round: number,
  sessions: Session[],
): Promise<void> {
  await redis.start();
  await waitForStore(h);
  assertEquals(tally(await reauthStorm(h, round)), { "client-auth-nt": CLIENTS });
  await assertSessionsKept(h, sessions);
  assertEquals(h.openvpn.connections, 1, "the management link stayed up");
}

async function assertSessionsKept(h: BridgeHarness, sessions: Session[]): Promise<void> {
  const store = await openSessionStore(h.config.sessions, h.config.http.secret);
  try {
    for (const session of sessions) {
      assertEquals(await store.getSession(session.sessionId), session);
    }
  } finally {
    await store.close();
  }
}

const DENIED = 'client-deny "session store unreachable" ' +
  '"Sign-in is unavailable right now; try again in a minute."';
const NEW_CLIENT = {
  kind: "CONNECT" as const,
  cid: 999,
  env: clientEnv({ common_name: "newcomer", session_id: "s-new" }),
};

Deno.test("Redis down under a REAUTH storm, store_unreachable = allow: clients this bridge knows stay connected", async () => {
  const { h, redis } = await start("allow");
  try {
    const sessions = await seedSessions(h);
    // The bridge learns its clients' sessions from the store as it answers them.
    assertEquals(tally(await reauthStorm(h, 2)), { "client-auth-nt": CLIENTS });

    redis.pause();
    const frozen = await reauthStorm(h, 3, [NEW_CLIENT]);
    assertEquals(tally(frozen), { "client-auth-nt": CLIENTS });
    assertEquals(frozen.get(999), DENIED);
    redis.resume();

    await redis.stop();
    const stopped = await reauthStorm(h, 4, [{ ...NEW_CLIENT, cid: 998 }]);
    assertEquals(tally(stopped), { "client-auth-nt": CLIENTS });
    assertEquals(stopped.get(998), DENIED);

    await assertRecovers(h, redis, 5, sessions);
  } finally {
    await h.stop();
    await redis.dispose();
  }
});

Deno.test("Redis down under a REAUTH storm, store_unreachable = deny: every REAUTH is denied saying why, then accepted again", async () => {
  const { h, redis } = await start("deny");
  try {
    const sessions = await seedSessions(h);
    assertEquals(tally(await reauthStorm(h, 2)), { "client-auth-nt": CLIENTS });

    await redis.stop();
    assertEquals(tally(await reauthStorm(h, 3)), { [DENIED]: CLIENTS });

    await assertRecovers(h, redis, 4, sessions);
  } finally {
    await h.stop();
    await redis.dispose();
  }
});

/**
 * Until the bridge's own Redis client has reconnected: a new client's CONNECT gets a login URL
 * (its pending login was written to Redis) instead of a denial.
 */
async function waitForStore(h: BridgeHarness): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const cid = 2000 + attempt;
    const mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("CONNECT", cid, 1, clientEnv({ session_id: `s-probe-${cid}` }));
    const line = await h.waitForCommand(
      mark,
      (l) => l.startsWith(`client-pending-auth ${cid} `) || l.startsWith(`client-deny ${cid} `),
    );
    if (line.startsWith("client-pending-auth")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert(false, "the bridge did not get its store back");
}
