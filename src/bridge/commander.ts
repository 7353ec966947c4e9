/** `client-deny` and HALT take the same arguments: `reason` for OpenVPN's log, `clientReason` for the client. */
export type Refuse = (
  cid: number,
  kid: number,
  reason: string,
  clientReason: string,
  signIn?: SignInRef,
) => Promise<void>;

/**
 * What the bridge needs to tell one OpenVPN server about one client. The daemon implements it
 * over that server's management connection (commands built, quoted and length-checked by
 * src/management/commands.ts); tests implement it with a recorder. Every method rejects when
 * OpenVPN answers `ERROR:` (for example because the client has gone away).
 */
import { ManagementCommandError, ManagementConnectionError } from "../management/errors.ts";

export interface ClientCommander {
  pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void>;
  /**
   * `client-auth` with config lines (an empty list is still a `client-auth` block). `signIn`:
   * the browser sign-in this answers, checked by the link's holder (sign_in_guard.ts).
   */
  auth(cid: number, kid: number, lines: readonly string[], signIn?: SignInRef): Promise<void>;
  authNt(cid: number, kid: number): Promise<void>;
  deny: Refuse;
  /**
   * Refuses the client by ending it, `client-kill {cid} "HALT,{clientReason}"`, where a
   * `client-deny` would have it retry (refusal.ts says which refusals): arguments as `deny`'s.
   * `reason`, the deny's log reason, has no place in that command; a cluster's holder of an
   * earlier version sends the `client-deny` it stands for (work_item.ts).
   */
  halt: Refuse;
  /**
   * `client-kill`. `openvpnRun`: the run of OpenVPN the client was seen in (Session.openvpnRun);
   * given, the holder of the link sends it only in that run, as after a restart the cid may
   * name another client (sign_in_guard.ts).
   */
  kill(cid: number, message: string, openvpnRun?: string): Promise<void>;
}

/**
 * The browser sign-in a command answers. A sign-in can take minutes; if OpenVPN restarted
 * meanwhile, the cid and kid it began with name another client (openvpn_run.ts), so the holder
 * of the link sends the command only while the sign-in is still that client's.
 */
export interface SignInRef {
  loginId: string;
  /** The run of OpenVPN the sign-in began in (PendingLogin.openvpnRun). */
  openvpnRun: string | undefined;
}

/** Looks up the commander of the OpenVPN server a client came through (one bridge, many servers). */
export type CommanderLookup = (server: string) => ClientCommander | undefined;

/**
 * The command was handed on for another bridge instance to send (`[cluster]`) and no instance
 * reported OpenVPN's answer in time: whether OpenVPN got it is unknown.
 */
export class CommandUndeliveredError extends Error {
  override readonly name = "CommandUndeliveredError";
}

/**
 * Whether OpenVPN may still act on a command that failed with `error`: it was written, and no
 * answer came (a timeout, the link dropped, the holder of the link did not report). Such a
 * command is not a refusal: OpenVPN may run it late, so nothing that contradicts it may follow
 * (a `client-deny` after a `client-auth-nt` drops a client OpenVPN accepted; a session deleted
 * after a `client-auth` leaves a client connected that no revocation can reach). If OpenVPN
 * never runs it, it ends the client's key itself (`hand-window`), and the client list read at
 * the next link-up ends what the bridge kept for it.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (error instanceof CommandUndeliveredError) return true;
  if (!(error instanceof ManagementConnectionError)) return false;
  // `closed`: the link was closed with the command written and unanswered (a stop, a lease
  // lost after the write); one never written is refused as `not-connected` or `not-written`.
  return error.code === "timeout" || error.code === "disconnected" || error.code === "closed";
}

/**
 * Whether the link refused a command before writing it (no link up, or a cluster holder whose
 * lease may have run out): OpenVPN never saw it, so another holder may carry it out. The
 * counterpart of {@link outcomeUnknown}.
 */
export function notWritten(error: unknown): boolean {
  return error instanceof ManagementConnectionError &&
    (error.code === "not-connected" || error.code === "not-written");
}

/**
 * How OpenVPN refused an answer to a client (`client-auth`, `client-auth-nt`, `client-deny`, a
 * halt's `client-kill`) with `ERROR:`, from its reply; undefined when `error` is no such refusal.
 * `gone`: OpenVPN looked the cid and kid up and found no such client or key (`client-deny command
 * failed`, `client-kill command failed`, and `client-auth command failed` for both auth commands:
 * manage.c, multi.c): the client left, or that key ended, while it was judged. `not-understood`:
 * any other `ERROR:` (`cannot parse KID`, a parameter missing): a bug of ours, worth an error. A
 * reply that was no `SUCCESS:` or `ERROR:` at all (protocol.ts) is no refusal: the link is out of
 * step, and the client is denied as after any failure (README, Security notes).
 *
 * Either way the client is not denied after it: nothing was admitted, a deny of the same cid and
 * kid is looked up the same way, and the answer already counted and audited would be counted and
 * audited a second time, for one request. (`client-pending-auth` is no answer: the client still
 * waits for one, and OpenVPN also refuses it for a key whose handshake window has passed: push.c.
 * OpenVPN words every refusal of it alike, `client-pending-auth command failed. Extra parameter
 * might be too long` (manage.c), the client gone included; what tells a client that left is its
 * `>CLIENT:DISCONNECT`, which OpenVPN writes before that reply: client_events.ts denies after
 * the refusal only while the sign-in still waits.)
 */
export function answerRefusal(error: unknown): "gone" | "not-understood" | undefined {
  if (!(error instanceof ManagementCommandError)) return undefined;
  if (error.message.includes("Unexpected reply line:")) return undefined;
  // Matched anywhere: a cluster's holder reports OpenVPN's reply inside its own message.
  return /\bclient-(?:auth|deny|kill) command failed\b/.test(error.message)
    ? "gone"
    : "not-understood";
}
