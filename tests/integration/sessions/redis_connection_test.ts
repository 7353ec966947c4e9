/**
 * Connecting to a real redis-server: ACL users, passwords, TLS with a private CA, and what a
 * store call does while the server is frozen, stopped or restarting.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { RedisSettings } from "../../../src/config/types.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { makeServerCertificate } from "../../support/certificates.ts";
import { freePort } from "../../support/free_port.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { eventually } from "../../support/eventually.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "conn-test:";

async function openStore(config: RedisSettings): Promise<RedisStore> {
  return await RedisStore.open({
    client: await connectRedis(config, 3_000),
    keyPrefix: config.keyPrefix,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(3)),
    maxEntries: 100,
    now: () => T0,
    description: config.url,
  });
}

async function withServer(
  options: Parameters<typeof RedisServer.start>[0],
  body: (server: RedisServer) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start(options);
  try {
    await body(server);
  } finally {
    await server.dispose();
  }
}

Deno.test("connectRedis() logs in as an ACL user named in the URL or in sessions.username", async () => {
  await withServer({ aclUsers: [{ name: "bridge", password: "bridge-pw" }] }, async (server) => {
    const inUrl = server.url.replace("redis://", "redis://bridge@");
    for (
      const config of [
        redisSettings(inUrl, PREFIX, { password: new Secret("bridge-pw") }),
        redisSettings(server.url, PREFIX, {
          username: "bridge",
          password: new Secret("bridge-pw"),
        }),
      ]
    ) {
      const store = await openStore(config);
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.refreshToken, "refresh-token-1");
      await store.close();
    }
  });
});

Deno.test("connectRedis() fails the start with a clear message on a wrong password", async () => {
  await withServer({ password: "right-password" }, async (server) => {
    const wrong = redisSettings(server.url, PREFIX, { password: new Secret("wrong-password") });
    const error = await assertRejects(() => openStore(wrong), Error);
    assert(!(error instanceof StoreUnavailableError), "a setting to fix, not an outage");
    assertMatch(
      error.message,
      /^Redis refused the credentials at redis:\/\/127\.0\.0\.1:\d+\/0: WRONGPASS .*; Redis refused the user name or password: set sessions\.password_file /,
    );
    assert(!error.message.includes("wrong-password"));
    const right = await openStore(
      redisSettings(server.url, PREFIX, { password: new Secret("right-password") }),
    );
    await right.close();
  });
});

Deno.test("connectRedis() refuses a database Redis will not select instead of going on in database 0", async () => {
  await withServer({ aclUsers: [{ name: "bridge", password: "bridge-pw" }] }, async (server) => {
    const url = (db: number) => server.url.replace(/\/0$/, `/${db}`);
    // The server has 16 databases (0-15).
    const error = await assertRejects(() => openStore(redisSettings(url(20), PREFIX)), Error);
    assert(!(error instanceof StoreUnavailableError), "a setting to fix, not an outage");
    assertEquals(
      error.message,
      "Invalid sessions.url: database 20 refused: ERR DB index is out of range",
    );
    // An ACL user that may not select: refused by Redis, not silently left in database 0.
    const admin = await connectRedis(redisSettings(server.url, PREFIX));
    try {
      await admin.call("ACL", "SETUSER", "bridge", "-select");
      const user = { username: "bridge", password: new Secret("bridge-pw") };
      // The ACL to fix, not the URL: worded as the probe words it.
      await assertRejects(
        () => openStore(redisSettings(url(3), PREFIX, user)),
        Error,
        `Redis refused the credentials at redis://127.0.0.1:${server.port}/3: NOPERM this ` +
          `user has no permissions to run the 'select' command; Redis refused the ACL user ` +
          `"bridge" a command the store needs: allow it in the user's ACL`,
      );
      // Database 0 needs no select: every connection begins there.
      const store = await openStore(redisSettings(server.url, PREFIX, user));
      await store.close();
      assertEquals(await admin.dbsize(), 1, "only database 0's key check, written just now");
    } finally {
      admin.disconnect();
    }
  });
});

Deno.test("a store on /3 whose SELECT is refused at a reconnect fails its calls instead of going on in database 0", async () => {
  await withServer({ aclUsers: [{ name: "bridge", password: "bridge-pw" }] }, async (server) => {
    const user = { username: "bridge", password: new Secret("bridge-pw") };
    const logs = captureLogs();
    const store = await openStore(redisSettings(server.url.replace(/\/0$/, "/3"), PREFIX, user));
    const admin = await connectRedis(redisSettings(server.url, PREFIX));
    try {
      await store.putSession(session());
      // The user loses `select` (as with Redis restarted with fewer databases), then the
      // connection drops: ioredis reconnects and its SELECT is refused.
      await admin.call("ACL", "SETUSER", "bridge", "-select");
      await admin.call("CLIENT", "KILL", "USER", "bridge");
      // Until the reconnect: ioredis's error line, or (before the fix) a call that is answered.
      const refusedLine = () => logs.lines.some((line) => line.text.includes("refused database 3"));
      await waitFor(async () =>
        refusedLine() || await store.getSession("sess-1").then(() => true, () => false)
      );
      for (let round = 0; round < 5; round++) {
        await assertRejects(() => store.getSession("sess-1"), StoreUnavailableError);
        await assertRejects(() => store.putSession(session({ cid: 8 })), StoreUnavailableError);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assertEquals(await admin.dbsize(), 0, "nothing read or written in database 0");
      assertEquals(
        logs.lines.filter((line) => line.text.includes("refused database 3")).length,
        1,
        "one error line, not one per retry",
      );
      // Allowed again: the next reconnect selects database 3 and finds the session there.
      await admin.call("ACL", "SETUSER", "bridge", "+select");
      assertEquals((await eventually(() => store.getSession("sess-1")))?.cid, session().cid);
      assert(logs.lines.some((line) => line.text.includes("database 3 selected again")));
    } finally {
      logs.stop();
      admin.disconnect();
      await store.close();
    }
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let attempt = 0; !(await condition()); attempt++) {
    if (attempt > 200) throw new Error("condition not met in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("connectRedis() uses the URL's database: a store on /3 writes there and nowhere else", async () => {
  await withServer({}, async (server) => {
    const store = await openStore(redisSettings(server.url.replace(/\/0$/, "/3"), PREFIX));
    const zero = await connectRedis(redisSettings(server.url, PREFIX));
    try {
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
      assertEquals(await zero.dbsize(), 0, "nothing in database 0");
      await zero.select(3);
      assert(await zero.exists("conn-test:s:sess-1"), "the session is in database 3");
    } finally {
      zero.disconnect();
      await store.close();
    }
  });
});

Deno.test("connectRedis() fails the start when nothing listens", async () => {
  const url = `redis://127.0.0.1:${await freePort()}/0`;
  await assertRejects(
    () => connectRedis(redisSettings(url, PREFIX), 1_500),
    StoreUnavailableError,
    /^Session store unreachable: redis:\/\/127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/,
  );
});

Deno.test("connectRedis() speaks TLS to a rediss:// URL, checking the server against tls_ca_file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redis-tls-" });
  try {
    // An address, as many set-ups name their Redis: checked against the certificate's IP entry
    // (an address cannot be sent as TLS server name).
    const tls = await makeServerCertificate(dir, "127.0.0.1");
    await withServer({ tls }, async (server) => {
      assert(server.url.startsWith("rediss://127.0.0.1:"));
      const store = await openStore(redisSettings(server.url, PREFIX, { tlsCaFile: tls.caFile }));
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
      await store.close();
      // Without the CA the server's certificate is not trusted: the server is reached, and the
      // connection fails at the check of its certificate chain.
      await assertRejects(
        () => openStore(redisSettings(server.url, PREFIX)),
        StoreUnavailableError,
        /^Session store unreachable: rediss:\/\/127\.0\.0\.1:\d+\/0: self[- ]signed certificate in certificate chain$/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectRedis() refuses a certificate from the trusted CA that does not name the URL's host", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redis-tls-name-" });
  try {
    // Each certificate is signed by a CA given as tls_ca_file, so the chain is trusted: only the
    // name check can refuse it. The server is always at 127.0.0.1, and an address is checked
    // against the certificate's IP entries only, never its DNS names or CN.
    const cases = [
      { host: "redis.example", reason: /IP: 127\.0\.0\.1 is not in the cert's list: $/ },
      { host: "127.0.0.2", reason: /IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.2$/ },
    ];
    for (const [index, { host, reason }] of cases.entries()) {
      const tls = await makeServerCertificate(dir, host, `server-${index}`);
      await withServer({ tls }, async (server) => {
        const error = await assertRejects(
          () => openStore(redisSettings(server.url, PREFIX, { tlsCaFile: tls.caFile })),
          StoreUnavailableError,
        );
        assertMatch(
          error.message,
          /^Session store unreachable: rediss:\/\/127\.0\.0\.1:\d+\/0: Hostname\/IP does not match certificate's altnames: /,
        );
        assertMatch(error.message, reason);
        assertEquals((error.cause as { code?: string }).code, "ERR_TLS_CERT_ALTNAME_INVALID");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectRedis() checks a host name in a rediss:// URL against the certificate's DNS names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redis-tls-dns-" });
  try {
    // The test server listens on 127.0.0.1 only, which "localhost" names in /etc/hosts.
    const named = await makeServerCertificate(dir, "localhost", "named");
    await withServer({ tls: named }, async (server) => {
      const url = server.url.replace("127.0.0.1", "localhost");
      const store = await openStore(redisSettings(url, PREFIX, { tlsCaFile: named.caFile }));
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
      await store.close();
    });
    const other = await makeServerCertificate(dir, "redis.example", "other");
    await withServer({ tls: other }, async (server) => {
      const url = server.url.replace("127.0.0.1", "localhost");
      const error = await assertRejects(
        () => openStore(redisSettings(url, PREFIX, { tlsCaFile: other.caFile })),
        StoreUnavailableError,
      );
      assertMatch(
        error.message,
        /^Session store unreachable: rediss:\/\/localhost:\d+\/0: Hostname\/IP does not match certificate's altnames: Host: localhost\. is not in the cert's altnames: DNS:redis\.example$/,
      );
      assertEquals((error.cause as { code?: string }).code, "ERR_TLS_CERT_ALTNAME_INVALID");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RedisStore calls fail with StoreUnavailableError while Redis is frozen or down, and work again after", async () => {
  await withServer({ persist: true }, async (server) => {
    const store = await openStore(redisSettings(server.url, PREFIX));
    try {
      await store.putSession(session());
      server.pause();
      await assertRejects(() => store.getSession("sess-1"), StoreUnavailableError);
      // A write that timed out may still be applied once Redis answers again: its outcome
      // is unknown, which callers treat as a failure (the client is denied, never accepted).
      await assertRejects(() => store.putSession(session({ cid: 8 })), StoreUnavailableError);
      server.resume();
      assertEquals((await eventually(() => store.getSession("sess-1")))?.sessionId, "sess-1");
      await store.putSession(session());

      await server.stop();
      await assertRejects(() => store.getSession("sess-1"), StoreUnavailableError);
      await assertRejects(() => store.takePending("p-1"), StoreUnavailableError);
      await server.start();
      assertEquals(await eventually(() => store.getSession("sess-1")), session());
    } finally {
      await store.close();
    }
  });
});

Deno.test("RedisStore: warmUp at start never fails, Redis frozen or not; reads fail as usual and work again after", async () => {
  await withServer({}, async (server) => {
    const store = await openStore(redisSettings(server.url, PREFIX));
    try {
      await store.putSession(session());
      server.pause();
      // Returns (resolves): a frozen Redis does not keep the bridge from starting.
      await store.warmUp(["vpn1"]);
      await assertRejects(() => store.getSession("sess-1"), StoreUnavailableError);
      server.resume();
      assertEquals((await eventually(() => store.getSession("sess-1")))?.sessionId, "sess-1");
    } finally {
      server.resume();
      await store.close();
    }
  });
});
