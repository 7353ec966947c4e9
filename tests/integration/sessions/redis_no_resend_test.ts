/**
 * A command cut off by a dropped connection fails, and is never sent again on the next one
 * (redis_connection.ts, failure model): its caller was told it failed, and a re-sent take of a
 * pending login or a re-sent delete would then run behind that caller's back. A fake server, so
 * that the drop falls exactly between a command's arrival and its answer.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import type { RedisSettings } from "../../../src/config/types.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { HANDSHAKE, handshakeReply, parseCommand } from "../../support/fake_redis_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface DroppingRedis {
  url: string;
  connections: number;
  /** Commands after the handshake that came on a connection after the first. */
  afterDrop: string[][];
  close(): Promise<void>;
}

/**
 * Answers the handshake; closes the first connection at its first other command, unanswered,
 * and answers "+OK" to every command on later ones.
 */
function startDroppingRedis(): DroppingRedis {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const served: Promise<void>[] = [];
  const fake: DroppingRedis = {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    connections: 0,
    afterDrop: [],
    async close() {
      listener.close();
      for (const conn of open) conn.close();
      await Promise.allSettled(served);
    },
  };
  served.push(
    (async () => {
      for await (const conn of listener) {
        const first = ++fake.connections === 1;
        open.add(conn);
        served.push(serve(conn, first).finally(() => open.delete(conn)));
      }
    })().catch(() => {}),
  );

  async function serve(conn: Deno.Conn, first: boolean): Promise<void> {
    let pending = "";
    const buffer = new Uint8Array(65_536);
    try {
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) return;
        pending += decoder.decode(buffer.subarray(0, count), { stream: true });
        let parsed;
        while ((parsed = parseCommand(pending)) !== undefined) {
          pending = pending.slice(parsed.length);
          const name = (parsed.args[0] ?? "").toUpperCase();
          if (HANDSHAKE.has(name)) {
            const reply = handshakeReply(name);
            await conn.write(encoder.encode(reply));
          } else if (first) {
            conn.close();
            return;
          } else {
            fake.afterDrop.push(parsed.args);
            await conn.write(encoder.encode("+OK\r\n"));
          }
        }
      }
    } catch {
      // Closed by the test, by the client or above.
    }
  }
  return fake;
}

function settings(url: string): RedisSettings {
  return {
    url,
    username: undefined,
    password: undefined,
    keyPrefix: "no-resend-test:",
    tlsCaFile: undefined,
    storeTimeoutMs: 500,
  };
}

Deno.test("connectRedis(): a command cut off by a dropped connection fails and is not sent again after the reconnect", async () => {
  const fake = startDroppingRedis();
  const client = await connectRedis(settings(fake.url), 3_000);
  try {
    await assertRejects(() => client.del("taken-once"));
    // Reconnected (retryStrategy: 100 ms after the first attempt), with time for a resend.
    for (let waited = 0; client.status !== "ready" || fake.connections < 2; waited += 10) {
      assert(waited < 3_000, `no reconnect: ${client.status}, ${fake.connections} connection(s)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await client.set("after", "1"), "OK");
    assertEquals(fake.afterDrop, [["set", "after", "1"]], "only the call made after the drop");
  } finally {
    client.disconnect();
    await fake.close();
  }
});
