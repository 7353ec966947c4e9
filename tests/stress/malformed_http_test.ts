/**
 * 100,000 malformed requests against the bridge's HTTP app in process (bad paths, huge and
 * odd headers, bad query strings, wrong methods, invalid cookies, bad percent-encoding, bad
 * form bodies), then 5,000 connection-level ones over a real socket (oversized request lines
 * and headers, broken framing, garbage bytes). No 5xx, no crash, heap bounded, and the
 * service still answers afterwards. Inputs come from a seeded generator: a failure reproduces.
 */
import { createConnection } from "node:net";
import { LoginFlow, stateTag } from "../../src/bridge/login_flow.ts";
import { Secret } from "../../src/config/secret.ts";
import { createApp } from "../../src/http/app.ts";
import { builtinLocalizedPages } from "../../src/http/pages/mod.ts";
import { serveHttp } from "../../src/http/serve.ts";
import { getLogger } from "../../src/log.ts";
import { IdpUnreachableError } from "../../src/oidc/errors.ts";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { RecordingCommander } from "../support/recording_commander.ts";
import { testAdmission, testPendingLogin } from "../support/client_events_fixture.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { seededRandom } from "../support/prng.ts";

const IN_PROCESS = 100_000;
const OVER_SOCKET = 5_000;
const T0 = 1_800_000_000_000;
const BASE = "http://127.0.0.1:9000";

/** Picks cases from a seeded generator. */
function seeded(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chars = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[int(alphabet.length)]).join("");
  return { next, int, pick, chars };
}

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NASTY = "%/\\?#&=;,\"'<>{}[]|^`~ \t\u0000\u00ff\u2028\ud83d\ude00.:@!$()*+";

function setup() {
  const now = () => T0;
  const store = new MemoryStore({ maxEntries: 1000, now });
  const commander = new RecordingCommander();
  let counter = 0;
  const flow = new LoginFlow({
    store,
    oidc: {
      startLogin: () => {
        counter++;
        return Promise.resolve({
          url: new URL(`https://idp.example/realms/vpn/auth?state=s${counter}`),
          state: `s${counter}`,
          nonce: `n${counter}`,
          codeVerifier: `v${counter}`,
        });
      },
      finishLogin: () => Promise.reject(new IdpUnreachableError("No IdP in this test")),
    },
    commanders: () => commander,
    admission: testAdmission({ store, now }).admission,
    checkClientIp: false,
    now,
    log: getLogger("stress"),
  });
  const app = createApp({
    flow,
    pages: builtinLocalizedPages,
    defaultLanguage: "en",
    baseUrl: new URL(BASE),
    secret: new Secret("0123456789abcdef0123456789abcdef"),
    confirmLogin: true,
    trustedProxies: ["127.0.0.1"],
    formActionOrigins: ["https://idp.example"],
    now,
    randomToken: () => `binding-${++counter}`,
    readiness: () => ({ management: true, servers: { default: true }, idp: true }),
    log: getLogger("stress"),
  });
  return { app, store, commander };
}

/** The id of the i-th login addLogins stores, and the state of its sign-in (tagged, as begun). */
const validId = (i: number) => `Valid${String(i).padStart(17, "0")}`;
const stateOf = (i: number) => `${stateTag(validId(i))}.state-${i}`;

async function addLogins(store: MemoryStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = validId(i);
    const login = testPendingLogin({
      id,
      cid: i,
      commonName: `user${i}`,
      sessionId: `s${i}`,
      oauth: i % 2 === 0
        // The fuzzer guesses states but never the browser binding: no callback completes.
        ? { state: stateOf(i), nonce: "n", codeVerifier: "v", browserBinding: `secret-${i}` }
        : undefined,
    });
    await store.putPending(login);
    ids.push(id);
  }
  return ids;
}

type Case = { method: string; path: string; headers: Record<string, string>; body?: string };

/** One malformed request of a random kind. */
function malformed(rng: ReturnType<typeof seeded>, ids: readonly string[]): Case {
  const id = () =>
    rng.pick([
      rng.pick(ids),
      rng.chars(ID_CHARS, rng.int(40)),
      rng.chars(ID_CHARS + NASTY, 22),
      rng.pick(ids) + rng.chars(NASTY, 3),
      "",
    ]);
  const junk = (max: number) => rng.chars(ID_CHARS + NASTY, rng.int(max));
  const badPercent = () =>
    rng.pick(["%", "%Z", "%ZZ", "%E0%A4%A", "%C0%AF", "%00", "%FF%FE", "%%%"]);
  const cookie = () =>
    rng.pick([
      `oao-${rng.pick(ids)}=${junk(40)}`,
      `oao-${junk(30)}=${junk(30)}`,
      ";;;==;=;",
      Array.from({ length: rng.int(200) }, (_, i) => `oao-${rng.pick(ids)}${i}=x`).join("; "),
      `oao-${rng.pick(ids)}=${badPercent()}`,
      `${"a".repeat(rng.int(9000))}=b`,
      `oao-${rng.pick(ids)}="unterminated`,
    ]);
  const path = () =>
    rng.pick([
      `/login/${id()}`,
      `/login/${id()}/${junk(20)}`,
      `/oauth2/callback?${junk(60)}`,
      `/oauth2/callback?state=${badPercent()}&code=${badPercent()}`,
      `/oauth2/callback?state=${stateOf(0)}&state=${stateOf(2)}&code=x&error=${junk(10)}`,
      `/oauth2/callback?state=${"s".repeat(rng.int(20_000))}`,
      `/${junk(30)}`,
      `/login/${badPercent()}${id()}`,
      `/${"a/".repeat(rng.int(2000))}`,
      `/healthz?${junk(20)}`,
      `/readyz/${junk(5)}`,
      `//login//${id()}`,
      `/login/..%2f..%2f${junk(8)}`,
      `/login%2F${id()}`,
    ]);
  const kind = rng.int(7);
  switch (kind) {
    case 0: // bad paths and bad percent-encoding
      return { method: "GET", path: path(), headers: {} };
    case 1: // huge or odd headers
      return {
        method: rng.pick(["GET", "POST"]),
        path: path(),
        headers: {
          [rng.pick(["x-forwarded-for", "user-agent", "accept", "x-" + rng.chars("abc", 8)])]: rng
            .pick([junk(30), "x".repeat(rng.int(64_000)), "1.2.3.4, " + junk(20), ",,,,"]),
          "content-length": rng.pick(["0", "abc", "-1"]),
        },
      };
    case 2: // wrong methods
      return {
        method: rng.pick(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]),
        path: rng.pick([`/login/${rng.pick(ids)}`, "/oauth2/callback?state=x", "/healthz", "/"]),
        headers: {},
      };
    case 3: // invalid cookies
      return {
        method: "GET",
        path: rng.pick([
          `/login/${rng.pick(ids)}`,
          `/oauth2/callback?state=${stateOf(rng.int(60))}`,
        ]),
        headers: { cookie: cookie() },
      };
    case 4: // bad form bodies
      return {
        method: "POST",
        path: `/login/${rng.pick(ids)}`,
        headers: {
          "content-type": rng.pick([
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=" + junk(10),
            "multipart/form-data",
            "application/json",
            "text/plain",
            junk(20),
          ]),
          cookie: cookie(),
        },
        body: rng.pick([
          `csrf=${badPercent()}`,
          `csrf=${junk(60)}&csrf=${junk(60)}`,
          junk(300),
          "csrf=" + "A".repeat(rng.int(10_000)),
          `--${junk(10)}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n${junk(20)}`,
          '{"csrf":' + junk(10),
          "",
        ]),
      };
    case 5: // bad query strings on the callback, with a plausible cookie
      return {
        method: "GET",
        path: `/oauth2/callback?${
          rng.pick([
            `state=${stateOf(2 * rng.int(25))}&code=${junk(40)}`,
            `error=${junk(40)}&state=${stateOf(0)}`,
            `error=access_denied&error_description=${badPercent()}`,
            `state=&code=&iss=${junk(30)}`,
            `${badPercent()}=${badPercent()}`,
            "state=" + encodeURIComponent(junk(100).replace(/[\ud800-\udfff]/g, "?")),
          ])
        }`,
        headers: { cookie: `oao-${rng.pick(ids)}=bb-${rng.int(60)}` },
      };
    default: // forged confirm posts: right shape, wrong csrf or binding
      return {
        method: "POST",
        path: `/login/${rng.pick(ids)}`,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie: `oao-${rng.pick(ids)}=binding-${rng.int(100)}`,
        },
        body: `csrf=${junk(43)}`,
      };
  }
}

function toRequest(c: Case): Request | undefined {
  try {
    return new Request(BASE + c.path, {
      method: c.method,
      headers: c.headers,
      ...(c.body !== undefined && c.method !== "GET" && c.method !== "HEAD"
        ? { body: c.body }
        : {}),
    });
  } catch {
    return undefined; // the URL or a header the fetch API itself rejects: no server sees it
  }
}

Deno.test("100,000 malformed requests in process: no 5xx, heap bounded, logins untouched", async () => {
  const { app, store, commander } = setup();
  const ids = await addLogins(store, 50);
  const rng = seeded(20261128);
  const statuses = new Map<number, number>();
  let unbuildable = 0;
  const env = { remoteAddr: "198.51.100.7" };
  // Warm up, then take the heap as the idle level.
  for (let i = 0; i < 2000; i++) {
    const request = toRequest(malformed(rng, ids));
    if (request) await (await app.fetch(request, env)).arrayBuffer();
  }
  const idleHeap = await settledHeap();
  const failures: string[] = [];
  for (let sent = 0; sent < IN_PROCESS;) {
    const c = malformed(rng, ids);
    const request = toRequest(c);
    if (!request) {
      unbuildable++;
      continue;
    }
    sent++;
    const response = await app.fetch(request, env);
    await response.arrayBuffer();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status >= 500 && failures.length < 5) {
      failures.push(`${response.status} ${c.method} ${c.path.slice(0, 120)}`);
    }
  }
  const growth = (await settledHeap()) - idleHeap;
  assertEquals(failures, [], `5xx answers: ${failures.join("; ")}`);
  // Cases with bytes the fetch API refuses (e.g. NUL in a header) never reach a server.
  assert(unbuildable < IN_PROCESS / 4, `Too many cases rejected by the fetch API: ${unbuildable}`);
  assert(growth < 32 * 2 ** 20, `Heap grew by ${Math.round(growth / 2 ** 20)} MiB`);
  // Forged posts and callbacks reached no VPN client, and the real logins are still pending.
  assertEquals(commander.commands, []);
  for (const id of ids) assert((await store.getPending(id)) !== undefined, `Login lost: ${id}`);
  // Every kind of answer the app gave, for the record.
  console.log(
    `statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
      `not buildable: ${unbuildable}`,
  );
});

/** Sends raw bytes on a fresh connection; resolves with the status line (or "" on close). */
function rawRequest(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let received = "";
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(received.split("\r\n", 1)[0] ?? "");
    };
    const timer = setTimeout(done, 3000);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("\r\n")) done();
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.on("connect", () => socket.write(payload, "latin1"));
  });
}

function rawCase(rng: ReturnType<typeof seeded>, ids: readonly string[]): string {
  const id = rng.pick(ids);
  const end = "Connection: close\r\n\r\n";
  return rng.pick([
    `GET /login/${id} HTTP/1.1\r\nHost: x\r\nX-Big: ${
      "a".repeat(64 * 1024 + rng.int(64 * 1024))
    }\r\n${end}`,
    `GET /login/${id} HTTP/1.1\r\nHost: x\r\n${
      Array.from({ length: 200 + rng.int(2000) }, (_, i) => `X-H${i}: v`).join("\r\n")
    }\r\n${end}`,
    `GET /${"a".repeat(16 * 1024 + rng.int(64 * 1024))} HTTP/1.1\r\nHost: x\r\n${end}`,
    `GET /login/${id} HTTP/9.9\r\nHost: x\r\n${end}`,
    `BREW /healthz HTTP/1.1\r\nHost: x\r\n${end}`,
    `GET /healthz\r\n\r\n`,
    `POST /login/${id} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n${end}`,
    `POST /login/${id} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n${end}hello`,
    `POST /login/${id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n${end}zz\r\nnot hex\r\n0\r\n\r\n`,
    `POST /login/${id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8000\r\n${end}${
      "c".repeat(8000)
    }`,
    `GET /login/${id} HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n${end}`,
    `GET /login/${id} HTTP/1.1\r\nHost: x\r\nCookie: ${"oao-x=y; ".repeat(4000)}\r\n${end}`,
    `\u0000\u0001\u0002\u00ff garbage ${rng.chars(NASTY, 100)}\r\n\r\n`,
    `GET /login/${id}%ZZ%00 HTTP/1.1\r\nHost: \r\n${end}`,
    `GET /oauth2/callback?state=${"%".repeat(rng.int(5000))} HTTP/1.1\r\nHost: x\r\n${end}`,
  ]);
}

Deno.test("5,000 connection-level malformed requests over a socket: no 5xx, service still up", async () => {
  const { app, store } = setup();
  const ids = await addLogins(store, 20);
  const server = await serveHttp(
    {
      host: "127.0.0.1",
      port: 0,
      tls: undefined,
      maxConnections: 256,
      maxConnectionsPerClient: 256,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 10_000,
    },
    (request, env) => app.fetch(request, env),
  );
  try {
    const rng = seeded(424242);
    const statusLines = new Map<string, number>();
    const failures: string[] = [];
    const idleHeap = await settledHeap();
    let next = 0;
    const worker = async () => {
      while (next < OVER_SOCKET) {
        next++;
        const payload = rawCase(rng, ids);
        const status = await rawRequest(server.port, payload);
        const code = /^HTTP\/1\.[01] (\d{3})/.exec(status)?.[1] ??
          (status === "" ? "closed" : "other");
        statusLines.set(code, (statusLines.get(code) ?? 0) + 1);
        if (code.startsWith("5") && failures.length < 5) {
          failures.push(`${status} for ${JSON.stringify(payload.slice(0, 80))}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assertEquals(failures, [], `5xx answers: ${failures.join("; ")}`);
    const growth = (await settledHeap()) - idleHeap;
    assert(growth < 64 * 2 ** 20, `Heap grew by ${Math.round(growth / 2 ** 20)} MiB`);
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assertEquals([health.status, await health.text()], [200, "ok"]);
    console.log(`status codes: ${JSON.stringify(Object.fromEntries([...statusLines].sort()))}`);
  } finally {
    await server.close();
  }
});
