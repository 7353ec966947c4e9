/**
 * What the management protocol core reports: real-time events (`>TYPE:` lines), protocol
 * warnings about bad input, and replies to the commands that asked for them.
 */
import type { Secret } from "../config/secret.ts";

/**
 * A `>CLIENT:` ENV block: `name=value` pairs split at the first `=`; of a name sent twice, the
 * first value. Values may be secrets. (A `Map` is one; the protocol reads lines lazily.)
 */
export interface ClientEnv {
  get(name: string): string | undefined;
}

export interface ClientConnectEvent {
  type: "client-connect";
  cid: number;
  kid: number;
  env: ClientEnv;
}

export interface ClientReauthEvent {
  type: "client-reauth";
  cid: number;
  kid: number;
  env: ClientEnv;
}

export interface ClientEstablishedEvent {
  type: "client-established";
  cid: number;
  env: ClientEnv;
}

export interface ClientDisconnectEvent {
  type: "client-disconnect";
  cid: number;
  env: ClientEnv;
}

/** `>CLIENT:CR_RESPONSE,{cid},{kid},{base64}`: the answer to a `CR_TEXT` challenge. */
export interface ClientCrResponseEvent {
  type: "client-cr-response";
  cid: number;
  kid: number;
  /** Base64 as sent by the client; not decoded here. */
  response: string;
  env: ClientEnv;
}

/** `>CLIENT:ADDRESS,{cid},{addr},{primary}` (no ENV block). */
export interface ClientAddressEvent {
  type: "client-address";
  cid: number;
  address: string;
  primary: boolean;
}

/** Any `>CLIENT:` event carrying an ENV block. */
export type ClientBlockEvent =
  | ClientConnectEvent
  | ClientReauthEvent
  | ClientEstablishedEvent
  | ClientDisconnectEvent
  | ClientCrResponseEvent;

/** `>INFO:...`, e.g. the greeting `OpenVPN Management Interface Version 5 -- ...`. */
export interface InfoEvent {
  type: "info";
  message: string;
}

/** `>HOLD:Waiting for hold release:N`: OpenVPN waits for `hold release`. */
export interface HoldEvent {
  type: "hold";
  message: string;
}

/** `ENTER PASSWORD:` (sent without a line end): the interface wants its password first. */
export interface PasswordPromptEvent {
  type: "password-prompt";
}

/**
 * `>PASSWORD:...` (`Need 'Auth' username/password`, `Verification Failed: ...`). An
 * `Auth-Token:` payload is moved out of `message` into `authToken` so it is never logged.
 */
export interface PasswordEvent {
  type: "password";
  message: string;
  authToken?: Secret;
}

/** `>LOG:{time},{flags},{message}`. */
export interface LogEvent {
  type: "log";
  time: number;
  flags: string;
  message: string;
}

/** `>STATE:{time},{state},{description},{...more fields}`. */
export interface StateEvent {
  type: "state";
  time: number;
  state: string;
  description: string;
  /** The remaining comma-separated fields (addresses, ports), possibly empty strings. */
  details: readonly string[];
}

/** `>INFOMSG:...`, e.g. `WEB_AUTH::https://...` on a client. */
export interface InfoMsgEvent {
  type: "infomsg";
  message: string;
}

/** Any other `>NAME:payload` line (`>NOTIFY`, `>ECHO`, `>BYTECOUNT_CLI`, `>FATAL`, ...). */
export interface UnknownEvent {
  type: "unknown";
  name: string;
  payload: string;
}

export type ProtocolWarningCode =
  /** A line longer than the limit: dropped up to its line end (inside a block: the block too). */
  | "line-too-long"
  /** A `>` line that does not have the shape of its type (in a block: the block is dropped). */
  | "malformed-line"
  /** An ENV block with more lines than the limit: the whole block is dropped. */
  | "env-limit"
  /** A `>CLIENT:ENV` line with no block open. */
  | "env-outside-block"
  /** A new `>CLIENT:` header or a reset before the previous block's `ENV,END`. */
  | "incomplete-block"
  /** A reply line when no command waits for one, or not of the kind the command expects. */
  | "unexpected-reply"
  /** A multi-line reply beyond the size limit: later lines are dropped. */
  | "reply-too-long"
  /**
   * A reply that cannot be the waiting command's: OpenVPN skipped that command (2.7 answers
   * nothing at all to `status` when reading the DCO peer statistics fails), so every later
   * reply would go to the command before its own. No reply is matched after it: the link must
   * be dropped (LinkCore does) and its commands count as unanswered.
   */
  | "out-of-step";

/**
 * Bad input, reported instead of thrown. `message` never contains ENV values or other line
 * content that may carry secrets. `cid` (and `kid` where the block type has one) are set only
 * when a client's `>CLIENT:` block was dropped, once per block, so that the caller can deny
 * that client instead of leaving it waiting (fail closed).
 */
export interface ProtocolWarning {
  type: "warning";
  code: ProtocolWarningCode;
  message: string;
  cid?: number;
  kid?: number;
}

export type ManagementEvent =
  | ClientBlockEvent
  | ClientAddressEvent
  | InfoEvent
  | HoldEvent
  | PasswordPromptEvent
  | PasswordEvent
  | LogEvent
  | StateEvent
  | InfoMsgEvent
  | UnknownEvent
  | ProtocolWarning;

/**
 * How a command's reply ends: one `SUCCESS:`/`ERROR:` line, or lines up to `END`. `status` is
 * `multi` whose first line must be one that `status` prints (`TITLE`, or an `ERROR:` naming
 * status; protocol.ts): anything else is a later command's reply, reported as `out-of-step`.
 */
export type ReplyKind = "single" | "multi" | "status";

/** The reply matched to the command that was issued with `ticket`. */
export type Reply =
  | { ticket: number; type: "success"; message: string }
  | { ticket: number; type: "error"; message: string }
  | { ticket: number; type: "lines"; lines: readonly string[]; truncated: boolean };
