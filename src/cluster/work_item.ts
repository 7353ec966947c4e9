/**
 * Work for OpenVPN handed from the instance that decided it (a callback, a logout, a revoke) to
 * the instance holding the server's management link: what to send, its idempotency key, and the
 * outcome the holder records. Pure: encoding, decoding (Redis content is checked like any
 * input) and the holder's decision.
 */
import type { ClientCommander, SignInRef } from "../bridge/commander.ts";
import type { TimedOutClient } from "../bridge/client_events.ts";
import { MAX_OPENVPN_RUN_CHARS } from "../management/openvpn_run.ts";
import { isLoginId } from "../bridge/login_url.ts";

/** The sign-in an answer is for (checked by the holder, sign_in_guard.ts); absent otherwise. */
type ForSignIn = { signIn?: SignInRef };

/**
 * A deny of a sign-in whose deadline passed, that the holder which held it for its link never
 * wrote (leased_link.ts): the holder that writes it logs, counts and audits it as a timeout, as a
 * single bridge does (ClientEvents.signInTimedOut), naming this client. Absent from every other
 * deny, whose requester recorded it before asking (Admission.deny), and from one queued by an
 * earlier version: carried out all the same, recorded by nobody, as then. A holder of an earlier
 * version ignores it likewise.
 */
export type OwedTimeout = Omit<TimedOutClient, "cid">;

export type WorkOp =
  | { op: "auth"; cid: number; kid: number; lines: readonly string[] } & ForSignIn
  | { op: "auth-nt"; cid: number; kid: number }
  | {
    op: "deny";
    cid: number;
    kid: number;
    reason: string;
    clientReason: string;
    timedOut?: OwedTimeout;
    /**
     * Sent as `client-kill {cid} "HALT,{clientReason}"` (ClientCommander.halt, refusal.ts): a
     * flag on the deny it stands for, so that a holder of an earlier version, which ignores it,
     * still refuses the client, with the `client-deny` it sent before.
     */
    halt?: true;
  } & ForSignIn
  | { op: "pending-auth"; cid: number; kid: number; url: string; timeoutSec: number }
  | { op: "kill"; cid: number; message: string; openvpnRun?: string };

/** What the holder records; the requester turns it into its answer. */
export type WorkOutcome =
  | { kind: "ok" }
  /** OpenVPN answered ERROR (the client left, the request was already answered). */
  | { kind: "refused"; message: string }
  /** Nobody carried it out before it expired. */
  | { kind: "expired" }
  /** Written to OpenVPN, no answer (a timeout, the link dropped): it may have been carried out. */
  | { kind: "unknown" };

/**
 * One item per client request, whoever asks and however often: OpenVPN takes one answer per
 * client request, so two items for the same request are one item. A cid and kid name a client
 * only within one run of OpenVPN: keyed by them alone, a request after a restart (cids start at
 * 0 again) joined the outcome, kept a minute, of an earlier one with the same numbers, and was
 * reported done without being sent. So an answer to a sign-in is keyed by cid, kid and the run
 * it began in; anything else, whose run the requester does not know (a kill, an answer to an
 * event), by `nonce()`, fresh per request: it joins nothing (a second kill of a client that left
 * is only refused).
 */
export function workKey(op: WorkOp, nonce: () => string): string {
  if (op.op === "kill") return `kill:${op.cid}:${nonce()}`;
  const run = op.op === "auth" || op.op === "deny" ? op.signIn?.openvpnRun : undefined;
  return `${op.cid}:${op.kid}:${run === undefined ? nonce() : `run=${run}`}`;
}

/** `{ signIn }`, or nothing: an item without a sign-in carries no such field. */
export function signInField(signIn: SignInRef | undefined): ForSignIn {
  return signIn === undefined ? {} : { signIn };
}

/** A sign-in read from Redis; `null` when the field is there but malformed. */
function decodeSignIn(value: unknown): SignInRef | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) return null;
  const { loginId, openvpnRun } = value as Record<string, unknown>;
  if (typeof loginId !== "string" || !isLoginId(loginId)) return null;
  if (openvpnRun === undefined) return { loginId, openvpnRun };
  if (typeof openvpnRun !== "string" || openvpnRun.length > MAX_OPENVPN_RUN_CHARS) return null;
  return { loginId, openvpnRun };
}

/**
 * The item as Redis keeps it. `expiresAt` (the requester's deadline by its clock) is read only by
 * holders of versions before its key's TTL became the deadline (work_queue.ts), which refuse an
 * item without it: written so that a cluster in a rolling upgrade keeps working.
 */
export function encodeWork(item: WorkOp, expiresAt: number): string {
  return JSON.stringify({ ...item, expiresAt });
}

const isId = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isText = (value: unknown): value is string => typeof value === "string";

/** A deny's owed timeout record read from Redis; `null` when the field is there but malformed. */
function decodeOwedTimeout(value: unknown): OwedTimeout | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) return null;
  const { commonName, clientIp } = value as Record<string, unknown>;
  return isText(commonName) && isText(clientIp) ? { commonName, clientIp } : null;
}

/** The item, or undefined when the text is not a well-formed item. */
export function decodeWork(text: string): WorkOp | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const { op, cid, kid } = raw;
  if (!isId(cid)) return undefined;
  if (op === "kill") {
    const { message, openvpnRun } = raw;
    if (!isText(message)) return undefined;
    if (openvpnRun === undefined) return { op, cid, message };
    return isText(openvpnRun) && openvpnRun.length <= MAX_OPENVPN_RUN_CHARS
      ? { op, cid, message, openvpnRun }
      : undefined;
  }
  if (!isId(kid)) return undefined;
  const signIn = decodeSignIn(raw.signIn);
  if (signIn === null) return undefined;
  switch (op) {
    case "auth": {
      const lines = raw.lines;
      if (!Array.isArray(lines) || !lines.every(isText)) return undefined;
      return { op, cid, kid, lines, ...signInField(signIn) };
    }
    case "auth-nt":
      return { op, cid, kid };
    case "deny": {
      const timedOut = decodeOwedTimeout(raw.timedOut);
      const halt = raw.halt;
      return isText(raw.reason) && isText(raw.clientReason) && timedOut !== null &&
          (halt === undefined || halt === true)
        ? {
          op,
          cid,
          kid,
          reason: raw.reason,
          clientReason: raw.clientReason,
          ...signInField(signIn),
          ...(timedOut === undefined ? {} : { timedOut }),
          ...(halt === true ? { halt } : {}),
        }
        : undefined;
    }
    case "pending-auth":
      return isText(raw.url) && isId(raw.timeoutSec)
        ? { op, cid, kid, url: raw.url, timeoutSec: raw.timeoutSec }
        : undefined;
    default:
      return undefined;
  }
}

export function encodeOutcome(outcome: WorkOutcome): string {
  return outcome.kind === "refused" ? `refused:${outcome.message}` : outcome.kind;
}

export function decodeOutcome(text: string): WorkOutcome | undefined {
  if (text === "ok" || text === "expired" || text === "unknown") return { kind: text };
  if (text.startsWith("refused:")) return { kind: "refused", message: text.slice(8) };
  return undefined;
}

/**
 * What the holder does with an item it took: carry it out, unless it already has an outcome
 * (an earlier holder finished it and died before removing it) or its requester's deadline passed
 * (`msLeft`, measured by Redis: work_queue.ts, TakenWork).
 */
export function workDecision(
  recorded: WorkOutcome | undefined,
  msLeft: number,
): "execute" | "done" | "expire" {
  if (recorded !== undefined) return "done";
  return msLeft <= 0 ? "expire" : "execute";
}

/** Carries an item out over a commander (the holder's fenced link). */
export function execute(commander: ClientCommander, item: WorkOp): Promise<void> {
  switch (item.op) {
    case "auth":
      return commander.auth(item.cid, item.kid, item.lines, item.signIn);
    case "auth-nt":
      return commander.authNt(item.cid, item.kid);
    case "deny":
      return item.halt === true
        ? commander.halt(item.cid, item.kid, item.reason, item.clientReason, item.signIn)
        : commander.deny(item.cid, item.kid, item.reason, item.clientReason, item.signIn);
    case "pending-auth":
      return commander.pendingAuth(item.cid, item.kid, item.url, item.timeoutSec);
    case "kill":
      return commander.kill(item.cid, item.message, item.openvpnRun);
  }
}
