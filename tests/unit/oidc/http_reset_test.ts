/**
 * The IdP fetch sends a request once more, within the same deadline, when its connection was
 * reset before any answer (Bun's ECONNRESET: a pooled connection the IdP closed for idleness as
 * it was reused), and never after anything else: a deadline, an answer, a refused connection, a
 * certificate error, a second reset, or with a body that cannot be read twice. Error shapes as
 * measured on Bun 1.4 and Deno 2.9; tests/integration/oidc/reset_connection_test.ts runs the race
 * itself on both runtimes.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { systemClock } from "../../../src/clock.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { type FetchLike, timedFetch, type TimedRequest } from "../../../src/oidc/http.ts";

const TOKEN_URL = "https://idp.test/realms/vpn/protocol/openid-connect/token";

/** Bun's fetch error before any answer: a TypeError carrying `code`. */
function bunError(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

const reset = () =>
  bunError("ECONNRESET", "ECONNRESET: The socket connection was closed unexpectedly");

type Outcome = () => Promise<Response>;

/** A fetch that plays `outcomes` in turn, keeping what each call was given. */
function scriptedFetch(...outcomes: Outcome[]) {
  const calls: RequestInit[] = [];
  const fetchImpl: FetchLike = (_input, init) => {
    calls.push(init ?? {});
    const next = outcomes[calls.length - 1];
    return next === undefined ? Promise.reject(new Error("called once too often")) : next();
  };
  return { fetchImpl, calls };
}

const fails = (error: unknown): Outcome => () => Promise.reject(error);
const answers = (status: number): Outcome => () =>
  Promise.resolve(new Response(status === 200 ? '{"access_token":"a"}' : "busy", { status }));

function refreshRequest(body: unknown = refreshForm()): TimedRequest {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
    body,
  };
}

/** oauth4webapi's token request body: URLSearchParams. */
function refreshForm(): URLSearchParams {
  return new URLSearchParams({ grant_type: "refresh_token", refresh_token: "rt-secret-1" });
}

const send = (fetchImpl: FetchLike, request = refreshRequest(), timeoutMs = 5000) =>
  timedFetch(fetchImpl, timeoutMs, systemClock)(`${TOKEN_URL}?q=secret-query`, request);

Deno.test("a POST whose connection was reset before any answer is sent once more and answered", async () => {
  const { fetchImpl, calls } = scriptedFetch(fails(reset()), answers(200));
  const response = await send(fetchImpl);
  assertEquals(response.status, 200);
  assertEquals(await response.text(), '{"access_token":"a"}');
  assertEquals(calls.length, 2);
  // The same form, under the same deadline.
  assertEquals(String(calls[1]!.body), String(refreshForm()));
  assertEquals(calls[1]!.signal, calls[0]!.signal);
});

Deno.test("a GET whose connection was reset is sent once more too", async () => {
  const { fetchImpl, calls } = scriptedFetch(fails(reset()), answers(200));
  const response = await send(fetchImpl, {
    method: "GET",
    headers: {},
    redirect: "manual",
  });
  assertEquals(response.status, 200);
  assertEquals(calls.length, 2);
});

Deno.test("a second reset is the IdP unreachable, with no third send", async () => {
  const { fetchImpl, calls } = scriptedFetch(fails(reset()), fails(reset()));
  const error = await assertRejects(() => send(fetchImpl), IdpUnreachableError);
  assertStringIncludes(error.message, "ECONNRESET");
  assertEquals(calls.length, 2);
});

Deno.test("nothing but a reset before any answer is sent again", async (t) => {
  const cases: [string, Outcome][] = [
    ["a refused connection", fails(bunError("ECONNREFUSED", "ECONNREFUSED: Unable to connect"))],
    ["an untrusted certificate", fails(bunError("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable"))],
    // Deno's reset: no code; its fetch has re-sent a reused connection's request itself.
    [
      "Deno's reset",
      fails(new TypeError("fetch failed", { cause: new Error("Connection reset by peer") })),
    ],
    ["an HTTP 500", answers(500)],
    ["an HTTP 429", answers(429)],
  ];
  for (const [name, outcome] of cases) {
    await t.step(name, async () => {
      const { fetchImpl, calls } = scriptedFetch(outcome, answers(200));
      await assertRejects(() => send(fetchImpl), IdpUnreachableError);
      assertEquals(calls.length, 1);
    });
  }
});

Deno.test("a reset after the deadline fired is a timeout, not sent again", async () => {
  // The IdP may still be working on the request: a second one could cross it.
  const { fetchImpl, calls } = scriptedFetch(() => {
    const signal = calls[0]!.signal!;
    return new Promise((_resolve, reject) =>
      signal.addEventListener("abort", () => reject(reset()), { once: true })
    );
  }, answers(200));
  const error = await assertRejects(
    () => send(fetchImpl, refreshRequest(), 20),
    IdpUnreachableError,
  );
  assertStringIncludes(error.message, "no answer within 20 ms");
  assertEquals(calls.length, 1);
});

Deno.test("a request whose body is a stream is not sent again: the first send used it up", async () => {
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(String(refreshForm())));
      controller.close();
    },
  });
  const { fetchImpl, calls } = scriptedFetch(fails(reset()), answers(200));
  await assertRejects(() => send(fetchImpl, refreshRequest(stream)), IdpUnreachableError);
  assertEquals(calls.length, 1);
});

Deno.test("the second send is logged at debug with the endpoint, never its query or the form", async () => {
  const logs = captureLogs();
  try {
    await send(scriptedFetch(fails(reset()), answers(200)).fetchImpl);
  } finally {
    logs.stop();
  }
  const lines = logs.lines.filter((line) => line.text.includes("once more"));
  assertEquals(lines.length, 1);
  assertEquals(lines[0]!.level, "debug");
  assertEquals(
    lines[0]!.text,
    `IdP connection reset before any answer, sending once more: POST ${TOKEN_URL}`,
  );
  const everything = JSON.stringify(logs.lines);
  for (const secret of ["secret-query", "rt-secret-1"]) {
    assertEquals(everything.includes(secret), false, `${secret} logged: ${everything}`);
  }
});
