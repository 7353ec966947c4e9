/**
 * The fetch every IdP request goes through: one deadline for the whole exchange (headers and
 * body), a cap on the body size, one more send of a request whose connection was reset before
 * any answer, and transport failures turned into IdpUnreachableError. A server error (5xx) or
 * rate limit (429) is also "unreachable": it says nothing about the user.
 */
import type { CustomFetchOptions } from "oauth4webapi";
import type { Clock } from "../clock.ts";
import { getLogger } from "../log.ts";
import { readStreamWithin } from "../read_stream_within.ts";
import { IdpUnreachableError } from "./errors.ts";
import {
  describeFetchFailure,
  isUntrustedCertificate,
  UNTRUSTED_CERTIFICATE_FIX,
} from "./fetch_failure.ts";
import type { GateLane, RequestGate } from "./request_gate.ts";

const log = getLogger("oidc");

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What timedFetch reads of a request; oauth4webapi's custom fetch options are one. */
export type TimedRequest =
  & Pick<CustomFetchOptions<string, unknown>, "method" | "headers" | "redirect">
  & { body?: unknown };

/** The most an IdP answer may carry; more is refused as the IdP failing. */
export const MAX_BODY_BYTES = 1024 * 1024;
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

class BodyTooLargeError extends Error {}
const tooLarge = () => new BodyTooLargeError(`Response body exceeds ${MAX_BODY_BYTES} bytes`);

/** The body, refused (BodyTooLargeError) past MAX_BODY_BYTES, declared or not. */
export async function readCapped(response: Response): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array();
  const declared = declaredLength(response.headers);
  if (declared !== undefined) {
    if (declared > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => {});
      throw tooLarge();
    }
    // HTTP framing holds the body to its declared length, so it is read in one go (on Deno a
    // tenth of a login's CPU less than the chunk loop below); checked again all the same.
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.byteLength > MAX_BODY_BYTES) {
      throw tooLarge();
    }
    return body;
  }
  const body = await readStreamWithin(response.body, MAX_BODY_BYTES);
  if (body === undefined) throw tooLarge();
  return body;
}

/**
 * The body's length as the headers declare it; unknown when it is compressed (fetch hands over
 * the decoded bytes, which may be far more) or the header is missing or malformed.
 */
function declaredLength(headers: Headers): number | undefined {
  const encoding = headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") return undefined;
  const length = headers.get("content-length");
  return length !== null && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
}

/** Where a timed request queues for a slot at the IdP (request_gate.ts), and in which lane. */
export interface GatePlace {
  gate: RequestGate;
  lane: GateLane;
}

/**
 * Wraps `fetch` with a timeout. The returned Response is fully buffered, so the deadline covers
 * the body too and no timer outlives the call. With a gate, a waited request's deadline also
 * covers its wait for a slot; a background request's starts when it is sent.
 */
export function timedFetch(
  fetchImpl: FetchLike,
  timeoutMs: number,
  clock: Clock,
  place?: GatePlace,
): (url: string, options: TimedRequest) => Promise<Response> {
  const exchange = async (url: string, options: TimedRequest, deadline: Deadline) => {
    try {
      const init: RequestInit = {
        method: options.method,
        headers: options.headers,
        redirect: options.redirect,
        signal: deadline.signal,
      };
      if (options.body !== undefined) init.body = options.body as BodyInit;
      const response = await sendOnceMoreAfterReset(fetchImpl, url, init);
      const body = await readCapped(response).catch((error) => {
        // A refusal stays a refusal whatever its body (a proxy's page over the cap): read as
        // the IdP unreachable, a revoked grant could be let through (`idp_unreachable = "allow"`).
        if (error instanceof BodyTooLargeError && isRefusal(response.status)) {
          return new Uint8Array();
        }
        throw error;
      });
      if (response.status >= 500 || response.status === 429) {
        throw new IdpUnreachableError(
          `IdP answered HTTP ${response.status}: ${describeEndpoint(url)}`,
        );
      }
      return new Response(NULL_BODY_STATUS.has(response.status) ? null : body as BodyInit, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } catch (error) {
      if (error instanceof IdpUnreachableError) throw error;
      const why = deadline.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : isUntrustedCertificate(error)
        ? `${describeFetchFailure(error)}: ${UNTRUSTED_CERTIFICATE_FIX}`
        : describeFetchFailure(error);
      throw new IdpUnreachableError(`IdP request failed: ${describeEndpoint(url)}: ${why}`, {
        cause: error,
      });
    }
  };
  const timed = async (url: string, options: TimedRequest, deadline: Deadline) => {
    try {
      return await exchange(url, options, deadline);
    } finally {
      deadline.clear();
    }
  };
  return (url, options) => {
    if (place === undefined) return timed(url, options, startDeadline(timeoutMs, clock));
    const { gate, lane } = place;
    if (lane === "background") {
      return gate.run(lane, () => timed(url, options, startDeadline(timeoutMs, clock)));
    }
    const deadline = startDeadline(timeoutMs, clock);
    const queued = gate.run(
      lane,
      () => exchange(url, options, deadline),
      deadline.signal,
      () => `IdP request failed: ${describeEndpoint(url)}: no answer within ${timeoutMs} ms`,
    );
    return queued.finally(deadline.clear);
  };
}

/**
 * `fetchImpl(url, init)`, sent once more, within the same deadline, when the connection was
 * reset before any answer. That is the race of a pooled keep-alive connection reused just as the
 * IdP closes it for idleness (Node's HTTP server some 6 s after its last answer, a load
 * balancer's idle timeout): the request reaches a closed socket, unread. Deno's fetch sends it
 * again itself on a new connection whatever the method; Bun's only for idempotent ones, so a
 * code exchange or a refresh (POSTs) failed as the IdP unreachable about once in a thousand.
 * Sending twice is safe for every request the bridge makes: discovery, keys and userinfo (GETs)
 * and revocation are idempotent; a code is single-use, so if the IdP did process the first
 * send, the second only turns into `invalid_grant`; a refresh was never read in this race, and
 * if it was and the IdP rotated the token, the bridge still holds the presented one and its
 * next check fails as it would have without the second send. Never sent again: after the
 * deadline fired (the IdP may still be working on it), after any answer (5xx and 429
 * included), after a refused connection or a certificate error, when the second send is reset
 * too, or with a body that cannot be read twice (a stream).
 */
async function sendOnceMoreAfterReset(
  fetchImpl: FetchLike,
  url: string,
  init: RequestInit,
): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    if (init.signal?.aborted || !isConnectionReset(error) || !isResendable(init.body)) throw error;
    log.debug("IdP connection reset before any answer, sending once more: {method} {endpoint}", {
      method: init.method ?? "GET",
      endpoint: describeEndpoint(url),
    });
    return await fetchImpl(url, init);
  }
}

/**
 * Bun's fetch error for a connection closed or reset before the answer (measured on Bun 1.4: a
 * TypeError with `code` "ECONNRESET", FIN and RST alike); a refused connection is ECONNREFUSED.
 * Deno's fetch sets no code (its evidence is the cause's message): it re-sends a request whose
 * reused connection was reset itself, and what it gives up on stays a failure here.
 */
function isConnectionReset(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ECONNRESET";
}

/** Whether a request body can be sent a second time: a stream is used up by the first. */
function isResendable(body: RequestInit["body"]): boolean {
  return body === undefined || body === null || typeof body === "string" ||
    body instanceof URLSearchParams || body instanceof Blob || body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body);
}

interface Deadline {
  signal: AbortSignal;
  clear: () => void;
}

function startDeadline(timeoutMs: number, clock: Clock): Deadline {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(), timeoutMs);
  return { signal: controller.signal, clear: () => clock.clearTimeout(timer) };
}

/**
 * Origin and path only: query strings may carry tokens (never here, but never log them). Only
 * built for an error message: parsing the URL of every IdP request for nothing was wasted.
 */
function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** 4xx but 429 (a rate limit says nothing about the grant). */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}
