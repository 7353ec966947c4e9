/**
 * The store contract against a real redis-server, plus what only Redis has: several stores
 * (bridges) sharing one server, the key check, secrets encrypted at rest, TTLs, and a server
 * that stops answering.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { Secret } from "../../../src/config/secret.ts";
import type { RedisSettings } from "../../../src/config/types.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { registerStoreContract } from "../../unit/sessions/contract.ts";
import { RedisServer } from "../../support/redis_server.ts";

const KEY = new Uint8Array(32).fill(7);
let server: RedisServer | undefined;
let prefixes = 0;

/** One server for the whole file (started on first use); each store gets its own key prefix. */
async function sharedServer(): Promise<RedisServer> {
  server ??= await RedisServer.start();
  return server;
}

export function settings(url: string, overrides: Partial<RedisSettings> = {}): RedisSettings {
  return {
    url,
    username: undefined,
    password: undefined,
    keyPrefix: `test${++prefixes}:`,
    tlsCaFile: undefined,
    storeTimeoutMs: 2_000,
    ...overrides,
  };
}

async function openStore(
  config: RedisSettings,
  options: { maxEntries?: number; now?: () => number; key?: Uint8Array<ArrayBuffer> } = {},
): Promise<{ store: RedisStore; client: Redis }> {
  const client = await connectRedis(config);
  const store = await RedisStore.open({
    client,
    keyPrefix: config.keyPrefix,
    cipher: await TokenCipher.fromKeyBytes(options.key ?? KEY),
    maxEntries: options.maxEntries ?? 1000,
    now: options.now ?? Date.now,
    description: config.url,
  });
  return { store, client };
}

registerStoreContract("RedisStore", async (options) => {
  const { store } = await openStore(settings((await sharedServer()).url), options);
  return { store, cleanup: () => store.close() };
});

Deno.test({
  name: "RedisStore tests stop their redis-server",
  // Registered last, so it runs after every test above.
  fn: async () => {
    await server?.dispose();
    server = undefined;
  },
});
