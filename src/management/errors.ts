import { errorText } from "../error_text.ts";

/**
 * Why a management link or command failed. Like oauth4webapi's errors, each carries a stable
 * `code` to branch on and, where there is one, the underlying error as `cause`. Messages never
 * contain the management password or ENV values.
 */
export type ManagementConnectionErrorCode =
  /** `send()` while no link is up. */
  | "not-connected"
  /** `send()` while this instance may not write (a cluster holder whose lease may have run out). */
  | "not-written"
  /** A command got no reply within its timeout. */
  | "timeout"
  /** The link dropped before the reply (OpenVPN closed it or it failed). */
  | "disconnected"
  /** `close()` was called. */
  | "closed"
  /** Too many replies overdue: the link was dropped and is reconnected. */
  | "unresponsive"
  /**
   * OpenVPN skipped a command (2.7 may leave `status` unanswered), so replies could no longer be
   * matched to commands: the link was dropped and is reconnected.
   */
  | "out-of-step"
  /** Nothing arrived within the command timeout after connecting. */
  | "no-greeting"
  /** The interface asks for a password and none is configured. */
  | "password-required"
  /** OpenVPN answered the password with `ERROR:` (or it cannot be sent at all). */
  | "password-rejected"
  /** The handshake got an answer it cannot use (no management version). */
  | "handshake"
  /** Connecting or the socket failed. */
  | "socket";

export class ManagementConnectionError extends Error {
  override readonly name = "ManagementConnectionError";
  readonly code: ManagementConnectionErrorCode;

  constructor(code: ManagementConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** `error` itself when it already is one, otherwise wrapped with `code`, keeping it as cause. */
export function asConnectionError(
  error: unknown,
  code: ManagementConnectionErrorCode,
  prefix: string,
): ManagementConnectionError {
  if (error instanceof ManagementConnectionError) return error;
  const message = errorText(error);
  return new ManagementConnectionError(code, `${prefix}: ${message}`, { cause: error });
}

/**
 * OpenVPN answered a command with `ERROR:` (for example because the client has gone away).
 * `command` is the command word only (arguments may carry user data); `cause` holds OpenVPN's
 * reply text.
 */
export class ManagementCommandError extends Error {
  override readonly name = "ManagementCommandError";
  readonly code = "command-refused";
  readonly command: string;

  constructor(command: string, reply: string) {
    super(`OpenVPN refused ${command}: ${reply}`, { cause: { reply } });
    this.command = command;
  }
}
