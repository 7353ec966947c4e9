/**
 * The connection to Redis or Valkey for the shared session store (ioredis: pure JavaScript, runs
 * on Deno, on Bun and inside the compiled binary). Settings are parsed and checked here, and
 * config validation calls these same functions.
 *
 * Failure model: commands are never queued while the connection is down and never re-sent
 * after a drop (a re-sent take of a pending login could run twice); each command gets at most
 * `sessions.store_timeout`. A command that cannot be answered rejects with
 * StoreUnavailableError at once or at that deadline, and the client keeps reconnecting in the
 * background, so a Redis restart costs failed store calls, never a stuck event.
 */
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import type { Secret } from "../config/secret.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";

export const DEFAULT_KEY_PREFIX = "openvpn-auth-oidc:";
export const STORE_TIMEOUT_MIN_MS = 10;
export const STORE_TIMEOUT_MAX_MS = 30_000;
const RECONNECT_MAX_DELAY_MS = 2_000;
const KEY_PREFIX_PATTERN = /^[A-Za-z0-9:_.{}-]{1,64}$/;
/** Replies Redis gives while it cannot serve (starting, busy script, replica cut off). */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

export interface RedisSettings {
  /** `redis://[user[:password]@]host[:port][/db]` or `rediss://` for TLS. */
  url: string;
  username: string | undefined;
  password: Secret | undefined;
  keyPrefix: string;
  /** PEM file with the CA that signed a `rediss://` server's certificate (default: system CAs). */
  tlsCaFile: string | undefined;
  storeTimeoutMs: number;
}

export interface RedisAddress {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
}

/** Parses `sessions.url`; throws an Error whose message never repeats a password. */
export function parseRedisUrl(text: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error("Invalid sessions.url: expected redis://host:port/db or rediss://...");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`Invalid sessions.url: scheme must be redis: or rediss:, got ${url.protocol}`);
  }
  if (url.hostname === "") throw new Error("Invalid sessions.url: no host");
  if (url.search !== "" || url.hash !== "") {
    throw new Error("Invalid sessions.url: query and fragment are not supported");
  }
  const path = url.pathname.replace(/^\//, "");
  if (!/^\d{0,2}$/.test(path)) {
    throw new Error(`Invalid sessions.url: the path must be a database number, got /${path}`);
  }
  return {
    tls: url.protocol === "rediss:",
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 6379 : Number(url.port),
    db: path === "" ? 0 : Number(path),
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : decodeURIComponent(url.password),
  };
}

/** The URL without credentials, for logs and error messages. */
export function describeRedisUrl(address: RedisAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${address.tls ? "rediss" : "redis"}://${host}:${address.port}/${address.db}`;
}

export function checkKeyPrefix(prefix: string): string {
  if (!KEY_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      "Invalid sessions.key_prefix: 1 to 64 characters from A-Z a-z 0-9 : _ . { } -",
    );
  }
  return prefix;
}

export function checkStoreTimeout(ms: number): number {
  if (!(ms >= STORE_TIMEOUT_MIN_MS && ms <= STORE_TIMEOUT_MAX_MS)) {
    throw new Error(
      `Invalid sessions.store_timeout: expected ${STORE_TIMEOUT_MIN_MS}ms to ${
        STORE_TIMEOUT_MAX_MS / 1000
      }s`,
    );
  }
  return ms;
}

/** Every check config validation runs; returns the parsed address. */
export function checkRedisSettings(settings: RedisSettings): RedisAddress {
  const address = parseRedisUrl(settings.url);
  if (address.password !== undefined && settings.password !== undefined) {
    throw new Error("Invalid sessions.url: give the password in the URL or in sessions.password");
  }
  if (address.username !== undefined && settings.username !== undefined) {
    throw new Error("Invalid sessions.url: give the user in the URL or in sessions.username");
  }
  if (settings.tlsCaFile !== undefined && !address.tls) {
    throw new Error("Invalid sessions.tls_ca_file: only used with a rediss:// URL");
  }
  checkKeyPrefix(settings.keyPrefix);
  checkStoreTimeout(settings.storeTimeoutMs);
  return address;
}

/**
 * Connects and waits until Redis answers (at most `connectTimeoutMs`), so that a wrong address,
 * password or CA fails the start with a clear message instead of denying every client later.
 */
export async function connectRedis(
  settings: RedisSettings,
  connectTimeoutMs = 10_000,
): Promise<Redis> {
  const address = checkRedisSettings(settings);
  const tls = address.tls
    ? {
      servername: address.host,
      ...(settings.tlsCaFile === undefined ? {} : { ca: readFileSync(settings.tlsCaFile, "utf8") }),
    }
    : undefined;
  const client = new Redis({
    host: address.host,
    port: address.port,
    db: address.db,
    username: settings.username ?? address.username,
    password: settings.password?.reveal() ?? address.password,
    ...(tls === undefined ? {} : { tls }),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.storeTimeoutMs,
    connectTimeout: Math.max(settings.storeTimeoutMs, 1_000),
    retryStrategy: (attempt: number) => Math.min(attempt * 100, RECONNECT_MAX_DELAY_MS),
  });
  let lastError: unknown;
  // Without a listener ioredis prints every reconnect failure itself.
  client.on("error", (error) => (lastError = error));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer in time")), connectTimeoutMs);
      }),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    const cause = lastError ?? error;
    throw new StoreUnavailableError(
      `Session store unreachable: ${describeRedisUrl(address)}: ${errorText(cause)}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Turns a failed command into StoreUnavailableError when Redis could not be asked or could not
 * answer (down, slow, starting); other errors (a refused script, wrong key type) pass unchanged.
 */
export function classifyRedisError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const name = (error as { name?: unknown })?.name;
  const message = errorText(error);
  if (name === "ReplyError" && !UNAVAILABLE_REPLY.test(message)) return error;
  return new StoreUnavailableError(`Session store unreachable: redis: ${message}`, {
    cause: error,
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
