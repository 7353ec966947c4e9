/**
 * The connection to Redis or Valkey for the shared session store (ioredis: pure JavaScript, runs
 * on Deno, on Bun and inside the compiled binary). Settings are parsed and checked here, and
 * config validation calls these same functions.
 *
 * Failure model: commands are never queued while the connection is down and never re-sent
 * after a drop (a re-sent take of a pending login could run twice); each command gets at most
 * `sessions.store_timeout`. A command that cannot be answered rejects with
 * StoreUnavailableError at once or at that deadline, and the client keeps reconnecting in the
 * background, so a Redis restart costs failed store calls, never a stuck event. A connection
 * that stays open but on which nothing comes back for a store timeout counts as lost too, and
 * one on a node a failover made a replica is dropped at a READONLY reply, at most once per
 * READONLY_RECONNECT_INTERVAL_MS.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Redis } from "ioredis";
import { durationLimitsProblem } from "../config/duration.ts";
import type { RedisSettings } from "../config/types.ts";
import { hostAndPort } from "../ip_address.ts";
import { getLogger } from "../log.ts";
import { SCHEME_WITHOUT_SLASHES } from "../log_mask.ts";
import type { ScriptName } from "./redis_scripts.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import { errorText } from "../error_text.ts";

/** `sessions.store_timeout`: the longest one Redis call may take. */
export const STORE_TIMEOUT_LIMITS_MS = { min: 10, max: 30_000 } as const;
const log = getLogger("sessions");
/** Each reconnect waits this much longer than the one before, up to RECONNECT_MAX_DELAY_MS. */
const RECONNECT_DELAY_STEP_MS = 100;
const RECONNECT_MAX_DELAY_MS = 2_000;
/** How long a start waits for Redis to answer (connectRedis). */
const START_TIMEOUT_MS = 10_000;
/**
 * The least time a connection (TCP, TLS, AUTH) is given: a store timeout bounds one call, and a
 * handshake on a busy network takes longer than the shortest one allowed.
 */
const MIN_CONNECT_TIMEOUT_MS = 1_000;
/**
 * The least time between two reconnects at a READONLY reply (readOnlyReconnects). Each such
 * reconnect fails every call in flight or sent until the connection is ready again (no offline
 * queue: some 100 ms of retry delay and a handshake), reads included, which with
 * `store_unreachable = "deny"` denies connected clients at their REAUTH. Behind an address that
 * stays on a node demoted for good (sessions.url names one node of a Sentinel set) a reconnect
 * at every refused write failed half the reads; one per 10 s costs about 1 % of them for as long
 * as the node stays a replica. And an address that a failover moves only after the first
 * reconnect (a virtual IP moved once the old primary is demoted, a DNS name cached for its TTL)
 * is followed within 10 s more: short next to the failover itself (Sentinel's
 * down-after-milliseconds is 30 s by default). Not a number of store timeouts: those bound one
 * call (up to 30 s each), not how soon an address moves.
 */
const READONLY_RECONNECT_INTERVAL_MS = 10_000;
/** How often a start asks a Redis that is loading its data set whether it is done. */
const LOADING_POLL_MS = 100;
/** What the start asks that with: a script that does nothing (waitWhileLoading says why). */
export const LOADING_CHECK_SCRIPT = "return 1";
const KEY_PREFIX_PATTERN = /^[A-Za-z0-9:_.{}-]{1,64}$/;
/**
 * Reply codes of a Redis that cannot serve a command for the moment: starting, busy with a
 * script, a replica cut off from its primary or one that takes no writes (READONLY: a failover
 * demoted the node this connection is on), out of memory for a write, or short of replicas for
 * one (min-replicas-to-write).
 */
const UNAVAILABLE_CODES = new Set([
  "LOADING",
  "BUSY",
  "MASTERDOWN",
  "TRYAGAIN",
  "CLUSTERDOWN",
  "READONLY",
  "OOM",
  "NOREPLICAS",
]);
/**
 * A reply's code: its first word, or, from Redis before 7, the code of the call that failed a
 * script, which it wraps as "ERR Error running script (call to f_<sha>): @user_script:9:
 * @user_script: 9: -READONLY You can't write ...". Redis 7 passes that code on as the reply's.
 */
const REPLY_CODE = /^(?:ERR Error running script .*?: -)?([A-Z]+)\b/;
/**
 * Reply codes of a Redis that refused the credentials: no password where it asks for one
 * (NOAUTH), a user name or password it does not know (WRONGPASS), or an ACL user without a
 * command or key the store needs (NOPERM). A setting to fix, not an outage: a start (and the
 * probe) says so and names the keys. At run time a password rotated on the server fails the
 * reconnects, so every store call fails as unavailable; a refusal of a call on an open
 * connection (an ACL changed meanwhile: NOPERM) fails it closed as a refusal (redis_refusal.ts).
 */
const CREDENTIALS_CODES: ReadonlySet<string> = new Set<CredentialsRefusal>([
  "NOAUTH",
  "WRONGPASS",
  "NOPERM",
]);

export type CredentialsRefusal = "NOAUTH" | "WRONGPASS" | "NOPERM";

export interface RedisAddress {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  username: string | undefined;
}

/**
 * Parses `sessions.url`, or says what is wrong (never repeating a user or password). A password
 * in it is left to redisUrlPasswordProblem, which refuses it.
 */
export function parseRedisUrl(text: string): RedisAddress | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Expected redis://host:port/db or rediss://host:port/db";
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return `Expected the scheme redis: or rediss:, got ${url.protocol}`;
  }
  if (url.hostname === "") return "Expected a host";
  // The href keeps a bare "?" or "#" that search and hash show as "".
  if (/[?#]/.test(url.href)) return "Query and fragment are not supported";
  const path = url.pathname.replace(/^\//, "");
  if (!/^\d{0,2}$/.test(path)) {
    // "redis://user:ab/cd@host": the path holds the rest of a password.
    const got = text.includes("@") ? "" : `, got /${path}`;
    return `Expected a database number as the path${got}`;
  }
  let username: string | undefined;
  try {
    username = url.username === "" ? undefined : decodeURIComponent(url.username);
  } catch {
    // URIError: a "%" not followed by two hex digits, or bytes that are not UTF-8.
    return "Malformed percent-encoding in the URL's user name";
  }
  return {
    tls: url.protocol === "rediss:",
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 6379 : Number(url.port),
    db: path === "" ? 0 : Number(path),
    username,
  };
}

/**
 * Where the user info of `sessions.url` may begin: after a scheme's `//`, or after a scheme
 * whose `//` a reader does not need (`redis:user:pw@host`; log_mask.ts says which). A text with
 * no such scheme may be user info from its start: `user:pw@host:6379` is a Redis URL with its
 * scheme left out to a person, and to Redis clients that add `redis://` to such a text.
 */
const USER_INFO_START = new RegExp(
  String.raw`^[^:/?#]*:\/\/|^\s*${SCHEME_WITHOUT_SLASHES}`,
  "i",
);
/** A password in the query, where Redis clients take one (`redis://host/0?password=pw`). */
const PASSWORD_IN_QUERY = /[?&]password=/i;

/**
 * Whether `text` holds a password where some reader finds one: a ":" in the user info, before
 * the last "@" (a password may hold "@"). Not cut at "/", "?" or "#": a password may hold them
 * (base64), and the URL then parses with the rest of the password as its path, or not at all.
 */
function hasPasswordInText(text: string): boolean {
  const at = text.lastIndexOf("@");
  const start = USER_INFO_START.exec(text)?.[0].length ?? 0;
  const colon = text.indexOf(":", start);
  return (colon !== -1 && colon < at) || PASSWORD_IN_QUERY.test(text);
}

/**
 * The rule on a password in `sessions.url`, whatever the backend (one that does not use the URL
 * included): check-config prints the URL as it is and the service logs it, so a password belongs
 * in a secret key. Also for text that is no valid URL, which would be printed just the same.
 */
export function redisUrlPasswordProblem(text: string): string | undefined {
  let hasPassword = hasPasswordInText(text);
  try {
    hasPassword ||= new URL(text).password !== "";
  } catch {
    // No URL: the text is judged by hasPasswordInText alone.
  }
  return hasPassword
    ? "Put the password in sessions.password or sessions.password_file, not in the URL"
    : undefined;
}

/** The URL without credentials, for logs and error messages. */
export function describeRedisUrl(address: RedisAddress): string {
  const scheme = address.tls ? "rediss" : "redis";
  return `${scheme}://${hostAndPort(address.host, address.port)}/${address.db}`;
}

export interface SettingsProblem {
  /** The config key, e.g. `sessions.url`. */
  path: string;
  message: string;
}

/** Every rule on the Redis settings; config validation and connectRedis both ask it. */
export function checkRedisSettings(settings: RedisSettings): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const problem = (key: string, message: string) =>
    problems.push({ path: `sessions.${key}`, message });
  const passwordProblem = redisUrlPasswordProblem(settings.url);
  if (passwordProblem !== undefined) problem("url", passwordProblem);
  const address = parseRedisUrl(settings.url);
  if (typeof address === "string") {
    problem("url", address);
  } else {
    if (address.username !== undefined && settings.username !== undefined) {
      problem("url", "Give the user in the URL or in sessions.username, not both");
    }
    if (settings.tlsCaFile !== undefined && !address.tls) {
      problem("tls_ca_file", "Only used with a rediss:// URL");
    }
  }
  if (!KEY_PREFIX_PATTERN.test(settings.keyPrefix)) {
    problem("key_prefix", "Expected 1 to 64 characters from A-Z a-z 0-9 : _ . { } -");
  }
  const timeoutProblem = durationLimitsProblem(settings.storeTimeoutMs, STORE_TIMEOUT_LIMITS_MS);
  if (timeoutProblem !== undefined) problem("store_timeout", timeoutProblem);
  return problems;
}

/** The PEM of `sessions.tls_ca_file`, when set; check-config reads it with this too. */
export function readRedisCa(
  settings: RedisSettings,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): string | undefined {
  return settings.tlsCaFile === undefined ? undefined : read(settings.tlsCaFile);
}

/**
 * Who tells a connection's outages: `store`, the session store's connection, as "Session store
 * connection lost" and "restored"; `own`, a connection whose user has lines of its own for them
 * (the server-name claims, the cluster's leases). Every connection once reported as the store's,
 * and the bridge with a Redis store and claims told each outage twice.
 */
export type OutageLines = "store" | "own";

/**
 * connectRedis for a connection whose user tells its outages itself (OutageLines `own`), with
 * the start's and READONLY's default times.
 */
export function connectRedisWithOwnOutageLines(settings: RedisSettings): Promise<Redis> {
  return connectRedis(settings, START_TIMEOUT_MS, READONLY_RECONNECT_INTERVAL_MS, "own");
}

/**
 * Connects and waits until Redis answers (at most `connectTimeoutMs`), so that a wrong address,
 * password, CA or database fails the start with a clear message instead of denying every client
 * later, or of sharing another database's keys. A Redis still loading its data set is waited for
 * within that same time (waitWhileLoading).
 */
export async function connectRedis(
  settings: RedisSettings,
  connectTimeoutMs = START_TIMEOUT_MS,
  readOnlyReconnectIntervalMs = READONLY_RECONNECT_INTERVAL_MS,
  outages: OutageLines = "store",
): Promise<Redis> {
  const problem = checkRedisSettings(settings)[0];
  if (problem) throw new Error(`Invalid ${problem.path}: ${problem.message}`);
  const address = parseRedisUrl(settings.url) as RedisAddress;
  const where = describeRedisUrl(address);
  const username = settings.username ?? address.username;
  const ca = address.tls ? readRedisCa(settings) : undefined;
  const tls = address.tls
    ? {
      // A name is sent as SNI and checked against the certificate's DNS names; an address may
      // not be a server name (Node's tls refuses `rediss://10.0.0.5`), and the certificate's IP
      // entries are checked against it without one.
      ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
      ...(ca === undefined ? {} : { ca }),
    }
    : undefined;
  // Loaded here, not at start-up: only a Redis store or a cluster needs it, and loading it cost
  // every start 60 ms under `deno run` and 20 ms (and 6 MB) in the Bun binary.
  const { Redis } = await import("ioredis");
  const lost: LossReason = { text: "connection closed", readOnly: false };
  const reconnectAtReadOnly = readOnlyReconnects(readOnlyReconnectIntervalMs);
  const client = new Redis({
    host: address.host,
    port: address.port,
    db: address.db,
    username,
    password: settings.password?.reveal(),
    ...(tls === undefined ? {} : { tls }),
    lazyConnect: true,
    // ioredis's ready check sends INFO at every connect: refused to an ACL user without `info`
    // (which the store supports) it printed a warning to stderr at each connect and reconnect,
    // past the log, and refused altogether (a Redis that renames INFO away) it failed the start
    // as unreachable. A Redis still loading its data, which that check waited for, is waited
    // for at the start by waitWhileLoading; later it answers the store's calls with LOADING, an
    // unavailable store (UNAVAILABLE_CODES). Connections made with duplicate() (the cluster's
    // subscriber) take these options too.
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Commands issued in one tick go out in one write: a CONNECT storm costs far fewer syscalls.
    enableAutoPipelining: true,
    // Session reads and writes and new pending logins are batched per turn already
    // (redis_call_batch.ts): a pipeline around each batch is work for nothing, and at a steady
    // rate every REAUTH or CONNECT is a batch of its own.
    autoPipeliningIgnoredCommands: [
      "getSessions",
      "putSessions",
      "putPendings",
    ] satisfies ScriptName[],
    commandTimeout: settings.storeTimeoutMs,
    // A timed-out command stays in ioredis's queue, with its arguments, until the socket closes,
    // and a peer that keeps the connection open but never answers (frozen, its host gone without
    // a reset: TCP gives up after some 15 minutes) would fail every call for that long while the
    // queue grew. So a connection on which nothing at all has come back for a store timeout while
    // a command waits is closed: those commands have failed already, the queue is let go, and
    // the usual reconnect starts. A slow Redis still answers something within a store timeout
    // (one reply is enough) and keeps its connection; no command sent here blocks on the server.
    socketTimeout: settings.storeTimeoutMs,
    connectTimeout: Math.max(settings.storeTimeoutMs, MIN_CONNECT_TIMEOUT_MS),
    retryStrategy: (attempt: number) =>
      Math.min(attempt * RECONNECT_DELAY_STEP_MS, RECONNECT_MAX_DELAY_MS),
    reconnectOnError: (error: Error) => {
      const reconnect = reconnectAtReadOnly(error);
      // A reply is no error event: the loss's warning would give a stale reason.
      if (reconnect) {
        lost.text = errorText(error);
        lost.readOnly = true;
      }
      return reconnect;
    },
  });
  let lastError: unknown;
  // Without a listener ioredis prints every reconnect failure itself.
  client.on("error", (error) => (lastError = error));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = performance.now() + connectTimeoutMs;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer in time")), connectTimeoutMs);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const cause = lastError ?? error;
    throw refusedCredentials(cause, where, username) ??
      new StoreUnavailableError(`Session store unreachable: ${where}: ${errorText(cause)}`, {
        cause,
      });
  } finally {
    clearTimeout(timer);
  }
  try {
    await selectDatabase(client, address.db, where, username);
    await waitWhileLoading(client, where, deadline, connectTimeoutMs);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  if (outages === "store") {
    reportConnectionChanges(
      client,
      where,
      settings.storeTimeoutMs,
      readOnlyReconnectIntervalMs,
      lost,
    );
  }
  stayInDatabase(client, address.db, where);
  return client;
}

/**
 * ioredis sends the URL's SELECT as it connects but takes a refusal (a database the server does
 * not have, an ACL user without `select`) for a mere error event and goes on in database 0, where
 * the bridge would share keys with whatever lives there. So it is sent again here, where a refusal
 * stops the start: an OK from Redis on this connection is its word that the connection is in `db`
 * now. Not a look at CLIENT INFO's `db=`: that needs Redis 6.2 and the `client|info` permission,
 * which a least-privilege ACL user may well lack, while `select` it needs anyway. A connection
 * begins in database 0: for it there is nothing to send (nor a `select` permission to ask for).
 */
async function selectDatabase(
  client: Redis,
  db: number,
  where: string,
  username: string | undefined,
): Promise<void> {
  if (db === 0) return;
  try {
    await client.select(db);
  } catch (error) {
    const failure = classifyRedisError(error);
    if (failure instanceof StoreUnavailableError) throw failure;
    // An ACL user without `select`: its ACL to fix, not the URL.
    const refused = refusedCredentials(error, where, username);
    if (refused !== undefined) throw refused;
    throw new Error(`Invalid sessions.url: database ${db} refused: ${errorText(error)}`, {
      cause: error,
    });
  }
}

/**
 * A Redis that has just started (its own restart, or both started at boot) loads its data set
 * before it serves, for a second or a minute by its size, and meanwhile answers the store's calls
 * with LOADING: the start's first store call failed, and the service with it, until systemd's
 * restart found it loaded. So the start waits for it, within the connection's own start deadline
 * (`connectTimeoutMs` from the connect on), asking every LOADING_POLL_MS. Not ioredis's ready
 * check, which waits for this by INFO (see connectRedis). Asked by a script that does nothing:
 * the store and the cluster run scripts anyway (README's ACL needs `+@scripting`), where PING
 * or INFO may be refused to a least-privilege ACL user, and Redis checks the ACL before LOADING.
 * Any answer but LOADING ends the wait, a refusal included: what follows the start judges it.
 */
async function waitWhileLoading(
  client: Redis,
  where: string,
  deadline: number,
  connectTimeoutMs: number,
): Promise<void> {
  for (let told = false;; told = true) {
    try {
      await client.eval(LOADING_CHECK_SCRIPT, 0);
      return;
    } catch (error) {
      if (replyCode(errorText(error)) !== "LOADING") return;
      if (performance.now() + LOADING_POLL_MS > deadline) {
        throw new StoreUnavailableError(
          `Session store ${where} was still loading its data set after ` +
            `${connectTimeoutMs / 1000} s, the most the start waits: ${errorText(error)}`,
          { cause: error },
        );
      }
    }
    if (!told) {
      log.info(
        "Session store {where} is loading its data set (Redis restarted): the start waits for " +
          "it, up to {seconds} s",
        { where, seconds: connectTimeoutMs / 1000 },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, LOADING_POLL_MS));
  }
}

/**
 * At each reconnect ioredis sends the URL's SELECT again, and again takes a refusal (Redis
 * restarted with fewer `databases`, the ACL user lost `select`) for a mere error event and goes
 * on in database 0: sessions would be missed there and written beside whatever lives in it. A
 * refused SELECT closes the connection instead, before it is ready for a store call, and ioredis
 * tries again on its usual schedule; meanwhile store calls fail as unavailable (clients denied,
 * never admitted from the wrong database). The handshake's refusal is the only error event that
 * names `select`: the start's own SELECT (selectDatabase) rejects its call instead. Without a
 * ready check (connectRedis) ioredis still calls the closing connection ready once its handshake
 * is done: nothing can be sent on it (its stream is ended), and it is not the database back.
 */
function stayInDatabase(client: Redis, db: number, where: string): void {
  let refused = false;
  let refusedOnThisConnection = false;
  // A new connection's handshake begins: its SELECT is yet to be answered.
  client.on("connect", () => (refusedOnThisConnection = false));
  client.on("error", (error) => {
    if ((error as { command?: { name?: unknown } })?.command?.name !== "select") return;
    if (!refused) {
      log.error(
        "Session store refused database {db} at a reconnect; not going on in database 0, trying again: {where}: {error}",
        { db, where, error: errorText(error) },
      );
    }
    refused = true;
    refusedOnThisConnection = true;
    client.disconnect(true);
  });
  client.on("ready", () => {
    if (!refused || refusedOnThisConnection) return;
    refused = false;
    log.info("Session store database {db} selected again: {where}", { db, where });
  });
}

/** Why the connection was last lost: an error event's text, or a READONLY reply that dropped it. */
interface LossReason {
  text: string;
  readOnly: boolean;
}

/**
 * Logs a lost connection once, and its return once it has held for two store timeouts: a peer
 * that answers the handshake and then nothing (a frozen Redis behind a proxy) has each connection
 * dropped by socketTimeout within a store timeout of the first command sent on it, and would
 * otherwise log a loss and a return every few hundred milliseconds. After a reconnect at READONLY
 * the hold is a READONLY reconnect interval longer: on a node that stays a replica the next one
 * comes an interval later at the next refused write, and it is the same outage, told already.
 */
function reportConnectionChanges(
  client: Redis,
  where: string,
  storeTimeoutMs: number,
  readOnlyReconnectIntervalMs: number,
  reason: LossReason,
): void {
  let lost = false;
  let restoring: ReturnType<typeof setTimeout> | undefined;
  client.on("error", (error) => {
    reason.text = errorText(error);
    reason.readOnly = false;
  });
  client.on("reconnecting", () => {
    // Lost again before it held: the same outage, told already.
    clearTimeout(restoring);
    restoring = undefined;
    if (lost) return;
    lost = true;
    log.warning("Session store connection lost, reconnecting: {where}: {error}", {
      where,
      error: reason.text,
    });
  });
  client.on("ready", () => {
    if (!lost) return;
    clearTimeout(restoring);
    const holdMs = 2 * storeTimeoutMs + (reason.readOnly ? readOnlyReconnectIntervalMs : 0);
    restoring = setTimeout(() => {
      restoring = undefined;
      lost = false;
      log.info("Session store connection restored: {where}", { where });
    }, holdMs);
    restoring.unref?.();
  });
  client.on("end", () => clearTimeout(restoring));
}

/**
 * Turns a failed command into StoreUnavailableError when Redis could not be asked, could not
 * answer (down, slow, starting) or refused it for the moment (UNAVAILABLE_CODES: a replica's
 * READONLY after a failover, OOM); other errors (a refused script, wrong key type) pass
 * unchanged. The one place the store's and the cluster's Redis errors are told apart.
 */
export function classifyRedisError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const name = (error as { name?: unknown })?.name;
  const message = errorText(error);
  if (name === "ReplyError" && !UNAVAILABLE_CODES.has(replyCode(message) ?? "")) return error;
  return new StoreUnavailableError(`Session store unreachable: redis: ${message}`, {
    cause: error,
  });
}

/** A Redis reply's error code (`WRONGPASS`, `READONLY`, ...), also inside a script error. */
export function replyCode(message: string): string | undefined {
  return REPLY_CODE.exec(message)?.[1];
}

/** The refusal of the credentials a reply code stands for, if any (the probe asks this too). */
export function credentialsRefusal(code: string | undefined): CredentialsRefusal | undefined {
  return code !== undefined && CREDENTIALS_CODES.has(code) ? code as CredentialsRefusal : undefined;
}

/**
 * What to change for a refusal (no final period): the keys to set, and for whom. `username`:
 * sessions.username or the URL's user; none is Redis's default user.
 */
export function credentialsFix(refusal: CredentialsRefusal, username: string | undefined): string {
  const user = username === undefined
    ? "Redis's default user (requirepass)"
    : `the ACL user "${username}"`;
  switch (refusal) {
    case "NOAUTH":
      return "Redis asks for a password: set sessions.password_file to a file holding the " +
        `password of ${user} (an ACL user goes in sessions.username)`;
    case "WRONGPASS":
      return `Redis refused the user name or password: set sessions.password_file to the ` +
        `password of ${user}, and sessions.username to the ACL user Redis knows (none: "default")`;
    case "NOPERM":
      return `Redis refused ${user} a command the store needs: allow it in the user's ACL (the ` +
        "store's keys start with sessions.key_prefix), or use another sessions.username";
  }
}

/**
 * A start's failure that is Redis refusing the credentials (a reply with one of
 * CREDENTIALS_CODES) as an error that says so and names the keys to change, the reply its
 * cause; undefined for any other failure. Before, the start said "unreachable" for a wrong
 * password, and named no key.
 */
export function refusedCredentials(
  error: unknown,
  where: string,
  username: string | undefined,
): Error | undefined {
  if ((error as { name?: unknown })?.name !== "ReplyError") return undefined;
  const reply = errorText(error);
  const refusal = credentialsRefusal(replyCode(reply));
  if (refusal === undefined) return undefined;
  return new Error(
    `Redis refused the credentials at ${where}: ${reply.replace(/\.$/, "")}; ` +
      credentialsFix(refusal, username),
    { cause: error },
  );
}

/**
 * Whether a reply calls for a reconnect (ioredis's `reconnectOnError`, throttled by
 * readOnlyReconnects): a READONLY reply means the node this connection reached is a replica now.
 * Behind one address that a failover moves (a Sentinel-managed VIP, a managed Redis whose DNS
 * name changes) the open connection would stay on it, reads working and every write failing,
 * until it happened to drop; a new connection reaches the primary. Returns true
 * (reconnect; the command fails with that reply, an unavailable store to its caller), not 2
 * (reconnect and send it again): with the offline queue off ioredis refuses that resend at once,
 * with "Stream isn't writeable" in place of the reply that says what happened, and nothing is
 * sent again after a drop here (see the header). Every other reply: no reconnect.
 */
export function reconnectOnReadOnly(error: Error): boolean {
  return replyCode(error.message) === "READONLY";
}

/**
 * reconnectOnReadOnly, at most once per `intervalMs`: a READONLY within that time of the last
 * reconnect fails its command and leaves the connection be. When the address does not move (it
 * names the demoted node itself) every reconnect lands on the replica again, and one at every
 * refused write failed the reads around it too (see READONLY_RECONNECT_INTERVAL_MS). Not a check
 * of ROLE after the reconnect in its place: the node still being a replica says nothing of where
 * the address will lead later, and a node that said so would never be left.
 *
 * `now`: milliseconds on a monotonic clock (a wall clock stepped back would hold reconnects).
 */
export function readOnlyReconnects(
  intervalMs: number,
  now: () => number = () => performance.now(),
): (error: Error) => boolean {
  let lastAt = -Infinity;
  return (error) => {
    if (!reconnectOnReadOnly(error)) return false;
    const at = now();
    if (at - lastAt < intervalMs) return false;
    lastAt = at;
    return true;
  };
}
