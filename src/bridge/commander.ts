/**
 * What the bridge needs to tell one OpenVPN server about one client. The daemon implements it
 * over that server's management connection (commands built, quoted and length-checked by
 * src/management/commands.ts); tests implement it with a recorder. Every method rejects when
 * OpenVPN answers `ERROR:` (for example because the client has gone away).
 */
export interface ClientCommander {
  pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void>;
  /**
   * `client-auth` with config lines (an empty list is still a `client-auth` block). `signIn`:
   * the browser sign-in this answers, checked by the link's holder (sign_in_guard.ts).
   */
  auth(cid: number, kid: number, lines: readonly string[], signIn?: SignInRef): Promise<void>;
  authNt(cid: number, kid: number): Promise<void>;
  deny(
    cid: number,
    kid: number,
    reason: string,
    clientReason: string,
    signIn?: SignInRef,
  ): Promise<void>;
  kill(cid: number, message: string): Promise<void>;
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
