/**
 * The IdP fetch's body cap, on both of its ways: a body whose length the headers declare is read
 * in one go, any other (chunked, compressed) chunk by chunk; either way more than
 * MAX_BODY_BYTES is refused as the IdP failing (a 4xx refusal excepted: client_test), and what
 * fits arrives intact.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { systemClock } from "../../../src/clock.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { type FetchLike, MAX_BODY_BYTES, timedFetch } from "../../../src/oidc/http.ts";

const URL_ = "https://idp.test/realms/vpn/protocol/openid-connect/token";

/** A body of `size` bytes sent in 64 KiB chunks, counting what was pulled from it. */
function chunkedBody(size: number) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const chunk = new Uint8Array(Math.min(65_536, size - sent)).fill(0x61);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, sent: () => sent };
}

function fetchAnswering(body: BodyInit, headers: Record<string, string>): FetchLike {
  return () => Promise.resolve(new Response(body, { status: 200, headers }));
}

const get = (fetchImpl: FetchLike) =>
  timedFetch(fetchImpl, 5000, systemClock)(URL_, {
    method: "GET",
    headers: {},
    redirect: "manual",
    body: undefined,
  });

Deno.test("an answer with a declared length within the cap arrives intact", async () => {
  const text = JSON.stringify({ access_token: "a".repeat(5000), token_type: "Bearer" });
  const response = await get(
    fetchAnswering(text, {
      "content-type": "application/json",
      "content-length": `${text.length}`,
    }),
  );
  assertEquals(await response.text(), text);
  assertEquals(response.headers.get("content-type"), "application/json");
});

Deno.test("an answer declaring more than the cap is refused before its body is read", async () => {
  const body = chunkedBody(MAX_BODY_BYTES + 1);
  await assertRejects(
    () => get(fetchAnswering(body.stream, { "content-length": `${MAX_BODY_BYTES + 1}` })),
    IdpUnreachableError,
    /exceeds/,
  );
  assertEquals(body.sent() <= 65_536, true, `read ${body.sent()} bytes`);
});

Deno.test("a body longer than its declared length is refused past the cap", async () => {
  const body = chunkedBody(MAX_BODY_BYTES + 10);
  await assertRejects(
    () => get(fetchAnswering(body.stream, { "content-length": "100" })),
    IdpUnreachableError,
  );
});

Deno.test("a chunked answer is cut off at the cap", async () => {
  const body = chunkedBody(4 * MAX_BODY_BYTES);
  await assertRejects(() => get(fetchAnswering(body.stream, {})), IdpUnreachableError);
  assertEquals(body.sent() < 2 * MAX_BODY_BYTES, true, `read ${body.sent()} bytes`);
});

Deno.test("a compressed answer is held to the cap by its decoded size, not its declared length", async () => {
  // fetch hands over decoded bytes while Content-Length counts the compressed ones.
  const body = chunkedBody(4 * MAX_BODY_BYTES);
  await assertRejects(
    () => get(fetchAnswering(body.stream, { "content-encoding": "gzip", "content-length": "900" })),
    IdpUnreachableError,
  );
  assertEquals(body.sent() < 2 * MAX_BODY_BYTES, true, `read ${body.sent()} bytes`);
});

Deno.test("an answer of exactly the cap, declared or chunked, is accepted", async () => {
  for (const headers of [{ "content-length": `${MAX_BODY_BYTES}` }, {}]) {
    const response = await get(fetchAnswering(chunkedBody(MAX_BODY_BYTES).stream, headers));
    assertEquals((await response.arrayBuffer()).byteLength, MAX_BODY_BYTES);
  }
});

Deno.test("a failed IdP request names the endpoint's origin and path, never its query", async () => {
  const request = (fetchImpl: FetchLike) =>
    timedFetch(fetchImpl, 5000, systemClock)(`${URL_}?code=secret-code&state=s`, {
      method: "GET",
      headers: {},
      redirect: "manual",
      body: undefined,
    });
  const unavailable = await assertRejects(
    () => request(() => Promise.resolve(new Response("busy", { status: 503 }))),
    IdpUnreachableError,
  );
  assertEquals(unavailable.message, `IdP answered HTTP 503: ${URL_}`);
  const refused = await assertRejects(
    () => request(() => Promise.reject(new TypeError("connection refused"))),
    IdpUnreachableError,
  );
  assertEquals(refused.message, `IdP request failed: ${URL_}: connection refused`);
});
