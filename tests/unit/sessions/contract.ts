/**
 * The behaviour every SessionStore backend shares. Each backend's test file calls
 * `registerStoreContract` with a factory; a new backend (e.g. Redis) gets the same suite.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../../support/assert.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import type { SessionStore, SweptSession } from "../../../src/sessions/types.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { listed, MINUTE, pendingLogin, session, sortSessions, T0 } from "./fixtures.ts";
import { LIST_CHUNK } from "../../../src/sessions/list_chunk.ts";
import { PENDING_GRACE_MS } from "../../../src/sessions/pending_grace.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";
import { nextTurn } from "../../../src/next_turn.ts";
import { SWEEP_BATCH as REDIS_SWEEP_BATCH } from "../../../src/sessions/redis_scripts.ts";

/** The most sessions a store hands on in one batch (Redis's script call: the largest). */
const MAX_SWEPT_BATCH = REDIS_SWEEP_BATCH;

export interface StoreUnderTest {
  store: SessionStore;
  /**
   * Another store over the same data that has cached nothing yet (the file store's second
   * connection), so that a read is the backend's own; left out by a store that caches nothing.
   * Closed by `cleanup`.
   */
  uncached?(): Promise<SessionStore>;
  /** Closes the store (if still open) and removes whatever it left behind. */
  cleanup(): Promise<void>;
}

export type StoreFactory = (
  options: { maxEntries: number; now: () => number },
) => Promise<StoreUnderTest>;

const ODD_STRINGS = [
  `quote ' double " backslash \\ semicolon ; -- DROP TABLE sessions;`,
  "line\nbreak\r\nand\ttab",
  "unicode: Grüße, 日本語, emoji 🔐👩‍💻, rtl עברית",
  "nul \u0000 inside",
  "",
];

export function registerStoreContract(backend: string, factory: StoreFactory): void {
  const test = (
    name: string,
    body: (
      store: SessionStore,
      clock: FakeClock,
      uncached: () => Promise<SessionStore>,
    ) => Promise<void>,
    maxEntries = 1000,
  ) => {
    Deno.test(`${backend}: ${name}`, async () => {
      const clock = new FakeClock(T0);
      const { store, uncached, cleanup } = await factory({ maxEntries, now: clock.now });
      try {
        await body(store, clock, uncached ?? (() => Promise.resolve(store)));
      } finally {
        await cleanup();
      }
    });
  };

  test("getPending() returns what putPending() stored and undefined for unknown ids", async (store) => {
    await store.putPending(pendingLogin());
    assertEquals(await store.getPending("p-1"), pendingLogin());
    assertEquals(await store.getPending("p-2"), undefined);
  });

  test("getPending() keeps a login without OAuth state as such", async (store) => {
    await store.putPending(pendingLogin({ oauth: undefined }));
    assertEquals(await store.getPending("p-1"), pendingLogin({ oauth: undefined }));
  });

  test("takePending() hands a pending login out once and removes it", async (store) => {
    await store.putPending(pendingLogin());
    assertEquals(await store.takePending("p-1"), pendingLogin());
    assertEquals(await store.takePending("p-1"), undefined);
    assertEquals(await store.getPending("p-1"), undefined);
  });

  test("takePending() called concurrently gives the login to exactly one caller", async (store) => {
    await store.putPending(pendingLogin());
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.takePending("p-1")),
    );
    assertEquals(results.filter((result) => result !== undefined).length, 1);
  });

  test("putPending() again replaces the login with the same id", async (store) => {
    await store.putPending(pendingLogin());
    const continued = pendingLogin({
      oauth: { state: "s2", nonce: "n2", codeVerifier: "v2", browserBinding: "b2" },
    });
    await store.putPending(continued);
    assertEquals(await store.getPending("p-1"), continued);
  });

  test(
    "putPending() again with another client and deadline moves the login there",
    async (store, clock) => {
      await store.putPending(pendingLogin({ server: "vpn1", cid: 7 }));
      const moved = pendingLogin({ server: "vpn2", cid: 8, expiresAt: clock.now() + MINUTE });
      await store.putPending(moved);
      assertEquals(await store.deletePendingByCid("vpn1", 7), 0);
      assertEquals(await store.getPending("p-1"), moved);
      clock.time += 2 * MINUTE;
      assertEquals(await store.getPending("p-1"), undefined, "the new, earlier deadline holds");
      assertEquals(await store.deletePendingByCid("vpn2", 8), 1);
    },
  );

  test("updatePending() writes the OIDC state of a login that is still there", async (store) => {
    await store.putPending(pendingLogin({ oauth: undefined }));
    const begun = pendingLogin({
      oauth: { state: "s2", nonce: "n2", codeVerifier: "v2", browserBinding: "b2" },
    });
    assertEquals(await store.updatePending(begun), true);
    assertEquals(await store.getPending("p-1"), begun);
    assertEquals(await collectPages(store.pendingPages()), [begun]);
    assertEquals(await store.takePending("p-1"), begun);
  });

  test(
    "updatePending() does not let a second browser take over a login begun in another; the same browser may begin again",
    async (store) => {
      await store.putPending(pendingLogin({ oauth: undefined }));
      const oauth = { state: "s2", nonce: "n2", codeVerifier: "v2", browserBinding: "b-first" };
      const first = pendingLogin({ oauth });
      assertEquals(await store.updatePending(first), true);
      const other = pendingLogin({ oauth: { ...oauth, state: "s3", browserBinding: "b-other" } });
      assertEquals(await store.updatePending(other), false, "another browser");
      assertEquals(await store.getPending("p-1"), first, "left as the first browser began it");
      const again = pendingLogin({ oauth: { ...oauth, state: "s4", nonce: "n4" } });
      assertEquals(await store.updatePending(again), true, "the same browser again");
      assertEquals(await store.takePending("p-1"), again);
    },
  );

  test("updatePending() brings back no login that is gone, and writes nothing", async (store) => {
    const begun = pendingLogin({
      oauth: { state: "s2", nonce: "n2", codeVerifier: "v2", browserBinding: "b2" },
    });
    assertEquals(await store.updatePending(begun), false, "never put");
    await store.putPending(pendingLogin({ oauth: undefined }));
    assertEquals(await store.deletePendingByCid("vpn1", 7), 1);
    assertEquals(await store.updatePending(begun), false, "its client went away");
    await store.putPending(pendingLogin({ oauth: undefined }));
    assert(await store.takePending("p-1"));
    assertEquals(await store.updatePending(begun), false, "taken");
    await store.putPending(pendingLogin({ oauth: undefined }));
    assertEquals(await store.deletePending("p-1"), true);
    assertEquals(await store.updatePending(begun), false, "deleted");
    assertEquals(await store.getPending("p-1"), undefined);
    assertEquals(await collectPages(store.pendingPages()), []);
    assertEquals((await store.countLive("vpn1")).pending, 0);
  });

  test(
    "updatePending() refuses an expired login, or one with another client or deadline",
    async (store, clock) => {
      const stored = pendingLogin({ oauth: undefined, expiresAt: T0 + MINUTE });
      await store.putPending(stored);
      const begun = { ...stored, oauth: pendingLogin().oauth };
      assertEquals(await store.updatePending({ ...begun, cid: 8 }), false);
      assertEquals(await store.updatePending({ ...begun, server: "vpn2" }), false);
      assertEquals(await store.updatePending({ ...begun, expiresAt: T0 + 2 * MINUTE }), false);
      assertEquals(await store.getPending("p-1"), stored, "left as it was");
      clock.time = T0 + MINUTE + 1;
      assertEquals(await store.updatePending(begun), false, "expired");
      clock.time = T0;
      assertEquals(await store.getPending("p-1"), stored);
    },
  );

  test("getPending() and takePending() treat an expired login as absent", async (store, clock) => {
    await store.putPending(pendingLogin({ expiresAt: T0 + MINUTE }));
    clock.time = T0 + MINUTE;
    assert(await store.getPending("p-1"), "still valid at its expiry instant");
    clock.time = T0 + MINUTE + 1;
    assertEquals(await store.getPending("p-1"), undefined);
    assertEquals(await store.takePending("p-1"), undefined);
    // Not taken either: left for its deadline's delete, which denies the client (a callback
    // that came too late must not take that away).
    assertEquals(await store.deletePending("p-1"), true);
  });

  test(
    "getPending() and takePending() treat an expired login as absent when read from the backend itself, not a cache",
    async (store, clock, uncached) => {
      await store.putPending(pendingLogin({ expiresAt: T0 + MINUTE }));
      clock.time = T0 + MINUTE + 1;
      const reader = await uncached();
      assertEquals(await reader.getPending("p-1"), undefined);
      assertEquals(await reader.takePending("p-1"), undefined);
      // The control: there, and found, at its expiry instant.
      clock.time = T0 + MINUTE;
      assertEquals(await reader.getPending("p-1"), pendingLogin({ expiresAt: T0 + MINUTE }));
    },
  );

  test(
    "deletePending() removes a login, expired or not, and says whether it was there",
    async (store, clock) => {
      await store.putPending(pendingLogin({ id: "taken" }));
      await store.putPending(pendingLogin({ id: "expired", expiresAt: T0 + MINUTE }));
      assert(await store.takePending("taken"));
      clock.time = T0 + 2 * MINUTE;
      assertEquals(await store.deletePending("expired"), true);
      assertEquals(await store.deletePending("expired"), false);
      assertEquals(await store.deletePending("taken"), false);
      assertEquals(await store.deletePending("never"), false);
    },
  );

  test("deletePending() of a login just read leaves no read finding it", async (store) => {
    await store.putPending(pendingLogin());
    assert(await store.getPending("p-1"));
    assertEquals(await store.deletePending("p-1"), true);
    // A login page or a callback after the client left must not find the login.
    assertEquals(await store.getPending("p-1"), undefined, "getPending() after deletePending()");
    assertEquals(await store.takePending("p-1"), undefined, "takePending() after deletePending()");
  });

  test("deletePendingByCid() removes only that server's logins of that client", async (store) => {
    await store.putPending(pendingLogin({ id: "a", server: "vpn1", cid: 7 }));
    await store.putPending(pendingLogin({ id: "b", server: "vpn1", cid: 7, kid: 2 }));
    await store.putPending(pendingLogin({ id: "c", server: "vpn1", cid: 8 }));
    await store.putPending(pendingLogin({ id: "d", server: "vpn2", cid: 7 }));
    assertEquals(await store.deletePendingByCid("vpn1", 7), 2);
    assertEquals(await store.getPending("a"), undefined);
    assertEquals(await store.getPending("b"), undefined);
    assert(await store.getPending("c"));
    assert(await store.getPending("d"));
    assertEquals(await store.deletePendingByCid("vpn1", 7), 0);
  });

  test("getSession() returns what putSession() stored, refresh token included", async (store) => {
    await store.putSession(session());
    assertEquals(await store.getSession("sess-1"), session());
    assertEquals(await store.getSession("sess-2"), undefined);
  });

  test("getSession() keeps undefined optional fields undefined", async (store) => {
    const bare = session({
      cid: undefined,
      sid: undefined,
      refreshToken: undefined,
      refreshExpiresAt: undefined,
      resumable: false,
      groups: [],
      roles: [],
      claims: {},
    });
    await store.putSession(bare);
    assertEquals(await store.getSession("sess-1"), bare);
  });

  test(
    "updateSession() writes a session that is still there, and brings back none that ended meanwhile",
    async (store, clock) => {
      await store.putSession(session());
      const rebound = session({ cid: 9, refreshToken: "refresh-token-2", lastAuthAt: T0 + MINUTE });
      assertEquals(await store.updateSession(rebound), true);
      assertEquals(await store.getSession("sess-1"), rebound);
      assertEquals(await store.findSessionIdByCid("vpn1", 9), "sess-1");

      // Revoked (by another bridge instance) while this one refreshed it: not written back.
      await store.deleteSession("sess-1");
      assertEquals(await store.updateSession(session({ refreshToken: "refresh-token-3" })), false);
      assertEquals(await store.getSession("sess-1"), undefined);
      assertEquals(await store.findSessionIdByCid("vpn1", 7), undefined);

      // A newer sign-in under the same id is not overwritten by the old one's update.
      const newer = session({ createdAt: T0 + 2 * MINUTE, refreshToken: "refresh-token-new" });
      await store.putSession(newer);
      assertEquals(await store.updateSession(session({ cid: undefined })), false);
      assertEquals(await store.getSession("sess-1"), newer);

      // Nor is an expired one revived.
      await store.putSession(session({ sessionId: "sess-2", expiresAt: T0 + 3 * MINUTE }));
      clock.time = T0 + 4 * MINUTE;
      assertEquals(
        await store.updateSession(session({ sessionId: "sess-2", expiresAt: T0 + 60 * MINUTE })),
        false,
      );
      assertEquals(await store.getSession("sess-2"), undefined);
    },
  );

  test("updateSession() in one batch with other writes: each decides on its own", async (store) => {
    await store.putSession(session({ sessionId: "a" }));
    const results = await Promise.all([
      store.updateSession(session({ sessionId: "a", cid: 1 })),
      store.updateSession(session({ sessionId: "gone", cid: 2 })),
      store.putSession(session({ sessionId: "b", cid: 3 })).then(() => "put"),
    ]);
    assertEquals(results, [true, false, "put"]);
    assertEquals((await store.getSession("a"))?.cid, 1);
    assertEquals(await store.getSession("gone"), undefined);
    assertEquals((await store.getSession("b"))?.cid, 3);
  });

  test("putSession() again updates the session", async (store) => {
    await store.putSession(session());
    const renewed = session({
      cid: 12,
      refreshToken: "refresh-token-2",
      lastAuthAt: T0 + MINUTE,
      groups: ["staff"],
    });
    await store.putSession(renewed);
    assertEquals(await store.getSession("sess-1"), renewed);
    const disconnected = session({ cid: undefined, refreshToken: undefined });
    await store.putSession(disconnected);
    assertEquals(await store.getSession("sess-1"), disconnected);
    assertEquals((await collectPages(store.sessionPages())).length, 1);
  });

  test(
    "findSessionIdByCid() finds the live session bound to that server's client id",
    async (store, clock) => {
      await store.putSession(session({ sessionId: "a", server: "vpn1", cid: 7 }));
      await store.putSession(session({ sessionId: "b", server: "vpn2", cid: 7 }));
      await store.putSession(session({ sessionId: "c", server: "vpn1", cid: undefined }));
      await store.putSession(
        session({ sessionId: "old", server: "vpn1", cid: 8, expiresAt: T0 + MINUTE }),
      );
      assertEquals(await store.findSessionIdByCid("vpn1", 7), "a");
      assertEquals(await store.findSessionIdByCid("vpn2", 7), "b");
      assertEquals(await store.findSessionIdByCid("vpn1", 9), undefined);
      clock.time = T0 + 2 * MINUTE;
      assertEquals(await store.findSessionIdByCid("vpn1", 8), undefined);
    },
  );

  test(
    "findSessionIdByCid() follows moves, unbinds, deletes and sweeps",
    async (store, clock) => {
      await store.putSession(session({ sessionId: "a", server: "vpn1", cid: 7 }));
      await store.putSession(session({ sessionId: "a", server: "vpn1", cid: 9 }));
      assertEquals(await store.findSessionIdByCid("vpn1", 7), undefined);
      assertEquals(await store.findSessionIdByCid("vpn1", 9), "a");
      await store.putSession(session({ sessionId: "a", server: "vpn2", cid: 9 }));
      assertEquals(await store.findSessionIdByCid("vpn1", 9), undefined);
      assertEquals(await store.findSessionIdByCid("vpn2", 9), "a");
      await store.putSession(session({ sessionId: "a", server: "vpn2", cid: undefined }));
      assertEquals(await store.findSessionIdByCid("vpn2", 9), undefined);

      await store.putSession(session({ sessionId: "b", cid: 3, expiresAt: T0 + MINUTE }));
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "b");
      await store.deleteSession("b");
      assertEquals(await store.findSessionIdByCid("vpn1", 3), undefined);
      await store.putSession(session({ sessionId: "c", cid: 4, expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      await store.sweep(clock.time);
      assertEquals(await store.findSessionIdByCid("vpn1", 4), undefined);
      await store.putSession(session({ sessionId: "d", cid: 4 }));
      assertEquals(await store.findSessionIdByCid("vpn1", 4), "d");
    },
  );

  test(
    "findSessionIdByCid() and listBindings() keep every session bound to a reused cid, the oldest found first",
    async (store, clock) => {
      // OpenVPN restarted and gave cid 3 to a new client before the old one's session ended.
      const old = session({ sessionId: "old", cid: 3, expiresAt: T0 + 60 * MINUTE });
      const fresh = session({ sessionId: "new", cid: 3, expiresAt: T0 + 120 * MINUTE });
      const bindings = async () =>
        (await store.listBindings("vpn1")).sort((x, y) => x.sessionId < y.sessionId ? -1 : 1);
      await store.putSession(old);
      await store.putSession(fresh);
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "old");
      assertEquals(await bindings(), [{ sessionId: "new", cid: 3 }, { sessionId: "old", cid: 3 }]);
      // The new one ended first: the old one is still found, to be ended in turn.
      await store.deleteSession("new");
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "old");
      assertEquals(await bindings(), [{ sessionId: "old", cid: 3 }]);
      await store.putSession(fresh);
      await store.putSession({ ...old, cid: undefined });
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "new");
      assertEquals(await bindings(), [{ sessionId: "new", cid: 3 }]);
      await store.putSession(old);
      clock.time = T0 + 90 * MINUTE;
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "new", "the old one expired");
      assertEquals(await bindings(), [{ sessionId: "new", cid: 3 }]);
      await store.sweep(clock.time);
      assertEquals(await store.findSessionIdByCid("vpn1", 3), "new", "the old one swept");
      assertEquals(await bindings(), [{ sessionId: "new", cid: 3 }]);
    },
  );

  test(
    "deletePendingByCid() follows a login put again for another client, and forgets taken and swept ones",
    async (store, clock) => {
      await store.putPending(pendingLogin({ id: "p1", cid: 7 }));
      await store.putPending(pendingLogin({ id: "p1", cid: 8 }));
      assertEquals(await store.deletePendingByCid("vpn1", 7), 0);
      assertEquals((await store.getPending("p1"))?.cid, 8);
      await store.putPending(pendingLogin({ id: "p2", cid: 8 }));
      await store.takePending("p2");
      await store.putPending(pendingLogin({ id: "p3", cid: 8, expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      await store.sweep(clock.time + PENDING_GRACE_MS);
      assertEquals(await store.deletePendingByCid("vpn1", 8), 1);
      assertEquals(await store.getPending("p1"), undefined);
    },
  );

  test("getSession() keeps a session's client IP, and its absence", async (store) => {
    await store.putSession(session({ sessionId: "with", clientIp: "2001:db8::7" }));
    await store.putSession(session({ sessionId: "without" }));
    assertEquals((await store.getSession("with"))?.clientIp, "2001:db8::7");
    const without = await store.getSession("without");
    assert(without && !("clientIp" in without), "absent stays absent, not undefined");
  });

  test(
    "a session's OpenVPN run round-trips with its cid, is listed with its binding, and goes with the cid",
    async (store) => {
      const runA = "4242@1795878880:CONNECTED";
      const runB = "4343@1795879000:CONNECTED";
      await store.putSession(session({ sessionId: "with", cid: 7, openvpnRun: runA }));
      await store.putSession(session({ sessionId: "without", cid: 8 }));
      const read = await store.getSession("with");
      assertEquals(read?.openvpnRun, runA);
      const without = await store.getSession("without");
      assert(without && !("openvpnRun" in without), "absent stays absent, not undefined");
      const bindings = async () => (await store.listBindings("vpn1")).sort((x, y) => x.cid - y.cid);
      assertEquals(await bindings(), [
        { sessionId: "with", cid: 7, openvpnRun: runA },
        { sessionId: "without", cid: 8 },
      ]);
      // Rebound in another run, then unbound: the run follows the cid.
      assert(await store.updateSession({ ...read!, cid: 3, openvpnRun: runB }));
      assertEquals((await store.getSession("with"))?.openvpnRun, runB);
      assertEquals((await bindings())[0], { sessionId: "with", cid: 3, openvpnRun: runB });
      assert(await store.updateSession({ ...read!, cid: 3, openvpnRun: undefined }));
      const noRun = await store.getSession("with");
      assert(noRun && !("openvpnRun" in noRun), "cleared");
      assertEquals((await bindings())[0], { sessionId: "with", cid: 3 });
      assert(await store.updateSession({ ...read!, cid: undefined }));
      const unbound = await store.getSession("with");
      assert(unbound && !("openvpnRun" in unbound), "no run without a cid");
      assertEquals(await bindings(), [{ sessionId: "without", cid: 8 }]);
      const listedRuns = (await collectPages(store.sessionPages())).map((s) => s.openvpnRun);
      assertEquals(listedRuns, [undefined, undefined]);
      // Bounded like a pending login's run.
      await assertRejects(() =>
        store.putSession(session({ sessionId: "long", openvpnRun: "1".repeat(81) }))
      );
    },
  );

  const lookups = [
    ["findSessionsBySid", "sid", (s: SessionStore, key: string) => s.findSessionsBySid(key)],
    [
      "findSessionsBySubject",
      "subject",
      (s: SessionStore, key: string) => s.findSessionsBySubject(key),
    ],
    [
      "findSessionsByUsername",
      "username",
      (s: SessionStore, key: string) => s.findSessionsByUsername(key),
    ],
  ] as const;
  for (const [method, field, find] of lookups) {
    test(
      `${method}() returns every live session with that ${field} on every server, exactly`,
      async (store, clock) => {
        await store.putSession(session({ sessionId: "a", server: "vpn1", [field]: "k-1" }));
        await store.putSession(
          session({ sessionId: "b", server: "vpn2", cid: undefined, [field]: "k-1" }),
        );
        await store.putSession(session({ sessionId: "other", [field]: "k-2" }));
        await store.putSession(session({ sessionId: "case", [field]: "K-1" }));
        await store.putSession(
          session({ sessionId: "old", [field]: "k-1", expiresAt: T0 + MINUTE }),
        );
        clock.time = T0 + 2 * MINUTE;
        const found = sortSessions(await find(store, "k-1"));
        assertEquals(found.map((s) => s.sessionId), ["a", "b"]);
        assertEquals(found[0]?.refreshToken, session().refreshToken, "tokens decrypted");
        assert(found.every((s) => Object.isFrozen(s)));
        assertEquals(await find(store, "k-3"), []);
        assertEquals(await find(store, ""), []);
      },
    );
  }

  test(
    "findSessionsBySid() follows each session's sid through rewrites, deletes and sweeps",
    async (store, clock) => {
      const ids = async (sid: string) =>
        sortSessions(await store.findSessionsBySid(sid)).map((s) => s.sessionId);
      await store.putSession(session({ sessionId: "a", sid: "sso-1" }));
      await store.putSession(session({ sessionId: "b", sid: "sso-1" }));
      await store.putSession(session({ sessionId: "c", sid: "sso-2", expiresAt: T0 + MINUTE }));
      // Rewritten under another IdP session: found there only.
      await store.putSession(session({ sessionId: "a", sid: "sso-3" }));
      assertEquals([await ids("sso-1"), await ids("sso-3")], [["b"], ["a"]]);
      // Rewritten without one: found under none.
      await store.putSession(session({ sessionId: "a", sid: undefined }));
      assertEquals(await ids("sso-3"), []);
      await store.deleteSession("b");
      assertEquals(await ids("sso-1"), []);
      clock.time = T0 + 2 * MINUTE;
      await store.sweep(clock.time);
      assertEquals(await ids("sso-2"), []);
      // Written again after its removal: found again.
      await store.putSession(session({ sessionId: "c", sid: "sso-2" }));
      assertEquals(await ids("sso-2"), ["c"]);
    },
  );

  test("findSessionsBySid() never matches sessions without a sid", async (store) => {
    await store.putSession(session({ sessionId: "no-sid", sid: undefined }));
    assertEquals(await store.findSessionsBySid(""), []);
    assertEquals(await store.findSessionsBySid("undefined"), []);
    assertEquals(await store.findSessionsBySid("null"), []);
  });

  test(
    "pendingPages() returns every live pending login and no expired or taken one",
    async (store, clock) => {
      await store.putPending(pendingLogin({ id: "a" }));
      await store.putPending(pendingLogin({ id: "b", server: "vpn2", cid: 9, oauth: undefined }));
      await store.putPending(pendingLogin({ id: "taken" }));
      await store.putPending(pendingLogin({ id: "old", expiresAt: T0 + MINUTE }));
      assert(await store.takePending("taken"));
      clock.time = T0 + 2 * MINUTE;
      const listed = (await collectPages(store.pendingPages())).sort((x, y) =>
        x.id.localeCompare(y.id)
      );
      assertEquals(listed, [
        pendingLogin({ id: "a" }),
        pendingLogin({ id: "b", server: "vpn2", cid: 9, oauth: undefined }),
      ]);
      assert(listed.every((login) => Object.isFrozen(login)));
    },
  );

  test("deleteSession() removes the session and says where its client was bound as it went", async (store) => {
    const refreshToken = "refresh-token-1";
    await store.putSession(session());
    assertEquals(await store.deleteSession("sess-1"), { server: "vpn1", cid: 7, refreshToken });
    assertEquals(await store.getSession("sess-1"), undefined);
    assertEquals(await store.deleteSession("sess-1"), undefined);
    // With the run of OpenVPN the cid belongs to; unbound, no cid.
    await store.putSession(session({ sessionId: "s-run", cid: 3, openvpnRun: "run-1" }));
    assertEquals(await store.deleteSession("s-run"), {
      server: "vpn1",
      cid: 3,
      openvpnRun: "run-1",
      refreshToken,
    });
    await store.putSession(session({ sessionId: "s-away", server: "vpn2", cid: undefined }));
    assertEquals(await store.deleteSession("s-away"), {
      server: "vpn2",
      cid: undefined,
      refreshToken,
    });
  });

  test("findSessionIdByCid() does not find a deleted session put again under another cid by its old cid", async (store) => {
    await store.putSession(session({ sessionId: "s-1", cid: 3 }));
    assert(await store.deleteSession("s-1"));
    await store.putSession(session({ sessionId: "s-1", cid: 5 }));
    // A DISCONNECT of client 3 must not end the session now bound to client 5.
    assertEquals(await store.findSessionIdByCid("vpn1", 3), undefined, "found by its old cid");
    assertEquals(await store.findSessionIdByCid("vpn1", 5), "s-1");
  });

  test("deleteSession() hands back the refresh token the session held as it went, not one read before", async (store) => {
    await store.putSession(session());
    const read = await store.getSession("sess-1");
    // A refresh rotated the token after `read` (session_end.ts revokes the stored one).
    assert(await store.updateSession({ ...read!, refreshToken: "refresh-token-2" }));
    assertEquals((await store.deleteSession("sess-1"))?.refreshToken, "refresh-token-2");
    // None held: none handed back.
    await store.putSession(session({ refreshToken: undefined }));
    assertEquals(await store.deleteSession("sess-1"), { server: "vpn1", cid: 7 });
  });

  test(
    "pendingPages() hands out every live pending login once, LIST_CHUNK at most a page",
    async (store, clock) => {
      const count = LIST_CHUNK + 3;
      for (let i = 0; i < count; i++) {
        await store.putPending(pendingLogin({ id: `p-${i}`, cid: i }));
      }
      await store.putPending(pendingLogin({ id: "old", cid: count, expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      const pages = await Array.fromAsync(store.pendingPages());
      assertEquals(pages.length, 2);
      assert(pages.every((page) => page.length > 0 && page.length <= LIST_CHUNK));
      const ids = pages.flat().map((login) => login.id);
      assertEquals([ids.length, new Set(ids).size], [count, count]);
      assertEquals(ids.includes("old"), false);
    },
  );

  test("pendingPages(): a login written again during the listing is listed once", async (store) => {
    const count = LIST_CHUNK + 10;
    for (let i = 0; i < count; i++) {
      await store.putPending(pendingLogin({ id: `p-${i}`, cid: i }));
    }
    const pages = store.pendingPages();
    const first = await pages.next();
    const listedFirst = (first.done ? [] : first.value).map((login) => login.id);
    assert(listedFirst.includes("p-0"));
    // Written again (its OAuth state, say) after its page was handed out.
    await store.putPending(pendingLogin({ id: "p-0", cid: 0, oauth: undefined }));
    const ids = [...listedFirst, ...(await collectPages(pages)).map((login) => login.id)];
    assertEquals(ids.filter((id) => id === "p-0").length, 1);
    assertEquals(ids.length, count);
  });

  test(
    "sessionPages() hands out every live session once, LIST_CHUNK at most a page; a caller may stop after any page",
    async (store, clock) => {
      const count = 2 * LIST_CHUNK + 7;
      for (let i = 0; i < count; i++) {
        await store.putSession(session({ sessionId: `s-${i}`, cid: i }));
      }
      await store.putSession(session({ sessionId: "old", expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      const pages = await Array.fromAsync(store.sessionPages());
      assertEquals(pages.length, 3);
      assert(pages.every((page) => page.length > 0 && page.length <= LIST_CHUNK));
      const ids = pages.flat().map((entry) => entry.sessionId);
      assertEquals([ids.length, new Set(ids).size], [count, count]);
      assertEquals(ids.includes("old"), false);
      // collectPages gathers the same listing.
      assertEquals(
        sortSessions(pages.flat()),
        sortSessions(await collectPages(store.sessionPages())),
      );
      // A caller that stops after the first page ends the listing there.
      for await (const page of store.sessionPages()) {
        assertEquals(page.length <= LIST_CHUNK, true);
        break;
      }
    },
  );

  test(
    "sessionPages() returns every live session, frozen, without its refresh token, and no expired one",
    async (store, clock) => {
      // "c" as Keycloak can leave one: no sid (left out of the ID token), no refresh token.
      const bare = { sessionId: "c", cid: undefined, sid: undefined, refreshToken: undefined };
      await store.putSession(session({ sessionId: "a" }));
      await store.putSession(session({ sessionId: "b", refreshToken: "token-b" }));
      await store.putSession(session(bare));
      await store.putSession(session({ sessionId: "old", expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      const sessions = sortSessions(await collectPages(store.sessionPages()));
      assertEquals(sessions, [
        listed({ sessionId: "a" }),
        listed({ sessionId: "b" }),
        listed(bare),
      ]);
      for (const entry of sessions) {
        assert(!("refreshToken" in entry), "a listing hands out no refresh token");
        assert(Object.isFrozen(entry));
      }
      assertEquals(await store.getSession("old"), undefined);
      // The token is still there for whoever reads the session itself.
      assertEquals((await store.getSession("b"))?.refreshToken, "token-b");
    },
  );

  test("sweep() removes exactly the entries that expired before now (pending logins: before the grace)", async (store) => {
    const now = T0 + MINUTE + PENDING_GRACE_MS;
    for (const [id, offset] of [["early", -1], ["edge", 0], ["late", 1]] as const) {
      await store.putPending(pendingLogin({ id, expiresAt: now - PENDING_GRACE_MS + offset }));
      await store.putSession(session({ sessionId: id, expiresAt: now + offset }));
    }
    // Logins expired, but not yet by the grace: still there for their deadline's delete.
    assertEquals(await store.sweep(now - PENDING_GRACE_MS), { pending: 0, sessions: 0 });
    assertEquals(await store.sweep(now), { pending: 1, sessions: 1 });
    assertEquals(await store.sweep(now), { pending: 0, sessions: 0 });
    // The clock still reads T0: only the sweep removed "early".
    assertEquals(await store.getPending("early"), undefined);
    assert(await store.getPending("edge"));
    assert(await store.getPending("late"));
    assertEquals(await store.getSession("early"), undefined);
    assertEquals(
      sortSessions(await collectPages(store.sessionPages())).map((s) => s.sessionId),
      ["edge", "late"],
    );
  });

  test("sweep() keeps a pending login one minute past its deadline, as README says, and no longer", async (store) => {
    const deadline = T0 + MINUTE;
    await store.putPending(pendingLogin({ id: "p", expiresAt: deadline }));
    assertEquals(await store.sweep(deadline + 60_000), { pending: 0, sessions: 0 });
    assert(await store.getPending("p"), "kept for its deadline's delete");
    assertEquals(await store.sweep(deadline + 60_001), { pending: 1, sessions: 0 });
    assertEquals(await store.getPending("p"), undefined);
  });

  test(
    "sweep() hands on each expired session that held a refresh token, once, as it was; live and tokenless ones are not",
    async (store) => {
      const now = T0 + MINUTE;
      const expired = session({ sessionId: "old", refreshToken: "rt-old", expiresAt: now - 1 });
      await store.putSession(expired);
      await store.putSession(
        session({ sessionId: "old-bare", refreshToken: undefined, expiresAt: now - 1 }),
      );
      await store.putSession(session({ sessionId: "live", refreshToken: "rt-live" }));
      const batches: SweptSession[][] = [];
      const onSwept = (sessions: readonly SweptSession[]) => {
        batches.push([...sessions]);
        return Promise.resolve();
      };
      assertEquals(await store.sweep(now, onSwept), { pending: 0, sessions: 2 });
      assertEquals(batches, [[expired]]);
      assertEquals(batches[0]![0]!.refreshToken, "rt-old");
      assertEquals(await store.sweep(now, onSwept), { pending: 0, sessions: 0 });
      assertEquals(batches.length, 1, "handed on once");
      assertEquals((await store.getSession("live"))?.refreshToken, "rt-live");
    },
  );

  test(
    "sweep() hands on a batch at a time, removing the next once the handler took the one before",
    async (store) => {
      const count = 1_100;
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          store.putSession(
            session({ sessionId: `s${i}`, refreshToken: `rt-${i}`, expiresAt: T0 + MINUTE }),
          )),
      );
      await store.putSession(session({ sessionId: "live" }));
      const sizes: number[] = [];
      const tokens = new Set<string>();
      let handling = false;
      const result = await store.sweep(T0 + 2 * MINUTE, async (sessions) => {
        assert(!handling, "a batch handed on before the handler took the one before");
        handling = true;
        sizes.push(sessions.length);
        for (const swept of sessions) tokens.add(swept.refreshToken);
        for (let i = 0; i < 3; i++) await nextTurn();
        handling = false;
      });
      assertEquals(result, { pending: 0, sessions: count });
      assertEquals(tokens.size, count, "each once");
      assert(sizes.length > 1 && sizes.every((size) => size <= MAX_SWEPT_BATCH), `${sizes}`);
    },
    2_000,
  );

  test(
    "sweep() ends with the error of a handler that rejects, the batch it was handed removed",
    async (store, clock) => {
      await store.putSession(session({ sessionId: "old", expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      await assertRejects(
        () => store.sweep(clock.time, () => Promise.reject(new Error("handler failed"))),
        Error,
        "handler failed",
      );
      assertEquals(await store.sweep(clock.time), { pending: 0, sessions: 0 });
    },
  );

  test(
    "putPending() of a new login into a full store rejects with StoreFullError",
    async (store) => {
      for (const id of ["a", "b", "c"]) await store.putPending(pendingLogin({ id }));
      const full = await assertRejects(
        () => store.putPending(pendingLogin({ id: "d" })),
        StoreFullError,
      );
      assertEquals(full.table, "pending");
      assertEquals(full.maxEntries, 3);
      assertEquals(await store.getPending("d"), undefined);
      // Replacing an existing entry needs no room, and sessions are bounded separately.
      await store.putPending(pendingLogin({ id: "a", kid: 9 }));
      assertEquals((await store.getPending("a"))?.kid, 9);
      for (const id of ["s1", "s2", "s3"]) await store.putSession(session({ sessionId: id }));
      await assertRejects(() => store.putSession(session({ sessionId: "s4" })), StoreFullError);
      await store.putSession(session({ sessionId: "s1", cid: 99 }));
    },
    3,
  );

  test(
    "putPending() into a full store first sweeps expired entries to make room",
    async (store, clock) => {
      await store.putPending(pendingLogin({ id: "short", expiresAt: T0 + MINUTE }));
      await store.putPending(pendingLogin({ id: "b" }));
      await store.putPending(pendingLogin({ id: "c" }));
      await assertRejects(() => store.putPending(pendingLogin({ id: "d" })), StoreFullError);
      clock.time = T0 + MINUTE + PENDING_GRACE_MS;
      // Expired, but not yet by the grace: still there for its deadline's delete.
      await assertRejects(() => store.putPending(pendingLogin({ id: "d" })), StoreFullError);
      clock.time = T0 + 2 * MINUTE + PENDING_GRACE_MS;
      await store.putPending(pendingLogin({ id: "d", expiresAt: clock.time + 5 * MINUTE }));
      assert(await store.getPending("d"));
      await store.putSession(session({ sessionId: "s1", expiresAt: T0 + 3 * MINUTE }));
      await store.putSession(session({ sessionId: "s2" }));
      await store.putSession(session({ sessionId: "s3" }));
      clock.time = T0 + 4 * MINUTE;
      await store.putSession(session({ sessionId: "s4" }));
      assertEquals(
        sortSessions(await collectPages(store.sessionPages())).map((s) => s.sessionId),
        ["s2", "s3", "s4"],
      );
    },
    3,
  );

  test(
    "a put into a full store leaves a login just past its deadline to the deadline's delete",
    async (store, clock) => {
      await store.putPending(pendingLogin({ id: "overdue", expiresAt: T0 + MINUTE }));
      await store.putPending(pendingLogin({ id: "b" }));
      await store.putPending(pendingLogin({ id: "c" }));
      // The deadline's timer comes late (a busy event loop), after a new login's put.
      clock.time = T0 + MINUTE + 1;
      await assertRejects(() => store.putPending(pendingLogin({ id: "d" })), StoreFullError);
      assertEquals(await store.getPending("overdue"), undefined, "gone to reads at its deadline");
      assertEquals(await store.sweep(clock.time), { pending: 0, sessions: 0 });
      // Found: the deadline denies its client ("Sign-in was not completed in time"); gone, it
      // would take the login for one a callback took, and tell the client nothing.
      assertEquals(await store.deletePending("overdue"), true);
      await store.putPending(pendingLogin({ id: "d" }));
      assert(await store.getPending("d"));
    },
    3,
  );

  test("stored entries are snapshots: changing inputs changes nothing, results are frozen", async (store) => {
    const login = pendingLogin();
    await store.putPending(login);
    login.username = "mallory";
    login.oauth!.state = "forged";
    const got = await store.getPending("p-1");
    assert(got?.oauth);
    assert(Object.isFrozen(got));
    assertThrows(() => {
      got.cid = 999;
    }, TypeError);
    assertEquals(await store.getPending("p-1"), pendingLogin());

    const stored = session();
    await store.putSession(stored);
    (stored.groups as string[]).push("admins");
    (stored.claims["nested"] as { list: unknown[] }).list.push("x");
    const read = await store.getSession("sess-1");
    assert(read);
    assert(Object.isFrozen(read));
    assertThrows(() => {
      read.username = "mallory";
    }, TypeError);
    assertEquals(await store.getSession("sess-1"), session());
    // A changed entry is built with spread and put back.
    await store.putSession({ ...read, groups: [...read.groups, "staff-2"] });
    assertEquals((await store.getSession("sess-1"))?.groups, [
      ...session().groups,
      "staff-2",
    ]);
  });

  test(
    "listBindings() lists the live sessions of a server that are bound to a cid",
    async (store, clock) => {
      await store.putSession(session({ sessionId: "a", server: "vpn1", cid: 7 }));
      await store.putSession(session({ sessionId: "b", server: "vpn2", cid: 8 }));
      await store.putSession(session({ sessionId: "c", server: "vpn1", cid: undefined }));
      await store.putSession(session({ sessionId: "d", server: "vpn1", cid: 9 }));
      await store.putSession(
        session({ sessionId: "old", server: "vpn1", cid: 10, expiresAt: T0 + MINUTE }),
      );
      clock.time = T0 + 2 * MINUTE;
      const bindings = (await store.listBindings("vpn1")).sort((x, y) => x.cid - y.cid);
      assertEquals(bindings, [{ sessionId: "a", cid: 7 }, { sessionId: "d", cid: 9 }]);
    },
  );

  test(
    "countLive() counts the live sessions and pending logins of one server, a session whose client left (kept for a reconnect) too",
    async (store, clock) => {
      await store.putSession(session({ sessionId: "a", server: "vpn1" }));
      await store.putSession(
        session({ sessionId: "left", server: "vpn1", cid: undefined, resumable: true }),
      );
      await store.putSession(session({ sessionId: "b", server: "vpn2" }));
      await store.putSession(session({ sessionId: "old", server: "vpn1", expiresAt: T0 + MINUTE }));
      await store.putPending(pendingLogin({ id: "p1", server: "vpn1" }));
      await store.putPending(pendingLogin({ id: "p2", server: "vpn1", expiresAt: T0 + MINUTE }));
      clock.time = T0 + 2 * MINUTE;
      assertEquals(await store.countLive("vpn1"), { sessions: 2, pending: 1 });
      assertEquals(await store.countLive("vpn3"), { sessions: 0, pending: 0 });
    },
  );

  test("unicode and odd strings round-trip unchanged", async (store) => {
    for (const [index, text] of ODD_STRINGS.entries()) {
      const login = pendingLogin({
        id: `p ${text}`,
        server: text,
        commonName: text,
        username: text,
        sessionId: `s ${text}`,
        oauth: { state: text, nonce: text, codeVerifier: text, browserBinding: text },
        cid: index,
      });
      await store.putPending(login);
      assertEquals(await store.getPending(login.id), login);
      const entry = session({
        sessionId: `s ${text}`,
        server: text,
        username: text,
        groups: [text],
        claims: { [text]: text, list: [text] },
        subject: text,
        sid: text,
        refreshToken: `token ${text}`,
      });
      await store.putSession(entry);
      assertEquals(await store.getSession(entry.sessionId), entry);
      assertEquals(await store.findSessionIdByCid(text, entry.cid!), entry.sessionId);
      assertEquals(await store.deletePendingByCid(text, index), 1);
      assertEquals(await store.takePending(login.id), undefined);
    }
    assertEquals((await collectPages(store.sessionPages())).length, ODD_STRINGS.length);
  });

  test("ids a store's keys may not hold exactly (NUL, a lone surrogate) are found by id and by cid", async (store) => {
    for (const [index, id] of ["nul \u0000 inside", "lone \uD800 surrogate"].entries()) {
      const entry = session({ sessionId: id, cid: 20 + index });
      await store.putSession(entry);
      assertEquals(await store.getSession(id), entry);
      assertEquals(await store.findSessionIdByCid(entry.server, 20 + index), id);
      const login = pendingLogin({ id, cid: 20 + index });
      await store.putPending(login);
      assertEquals(await store.getPending(id), login);
      assertEquals(await store.takePending(id), login);
    }
  });

  test("put rejects malformed entries with a TypeError and stores nothing", async (store) => {
    await assertRejects(() => store.putPending(pendingLogin({ cid: -1 })), TypeError);
    await assertRejects(() => store.putPending(pendingLogin({ expiresAt: NaN })), TypeError);
    await assertRejects(
      () => store.putSession({ ...session(), groups: "admins" } as never),
      TypeError,
    );
    await assertRejects(() => store.putSession(session({ claims: [] as never })), TypeError);
    // A hole in a sparse list is no string either.
    // deno-lint-ignore no-sparse-arrays
    await assertRejects(() => store.putSession(session({ roles: [, "x"] as never })), TypeError);
    assertEquals(await store.getPending("p-1"), undefined);
    assertEquals(await store.getSession("sess-1"), undefined);
  });

  test("a closed store rejects every call", async (store) => {
    await store.putSession(session());
    await store.close();
    await assertRejects(() => store.getSession("sess-1"), Error, /Session store is closed/);
    await assertRejects(() => store.putSession(session()), Error, /Session store is closed/);
    await assertRejects(() => store.putPending(pendingLogin()), Error, /Session store is closed/);
    await assertRejects(() => store.takePending("p-1"), Error, /Session store is closed/);
    await assertRejects(() => collectPages(store.sessionPages()), Error, /Session store is closed/);
    await assertRejects(() => store.findSessionsBySid("sso-1"), Error, /Session store is closed/);
    await assertRejects(() => store.findSessionsBySubject("u-1"), Error, /Session store is closed/);
    await assertRejects(
      () => store.findSessionsByUsername("alice"),
      Error,
      /Session store is closed/,
    );
    await assertRejects(() => collectPages(store.pendingPages()), Error, /Session store is closed/);
    await assertRejects(() => store.sweep(T0), Error, /Session store is closed/);
    await store.close();
  });
}
