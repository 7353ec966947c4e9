/**
 * The answers to one CONNECT or REAUTH, written only while OpenVPN still runs as it did when the
 * event came. A restart in place (SIGHUP) keeps the management link up and hands cids and kids
 * out from 0 again (openvpn_run.ts): an answer held up by a session lock, a store call or the
 * IdP would reach the new client that got the same ids, and a `client-auth` would let it in
 * with another user's session.
 */
import type { ClientCommander, SignInRef } from "./commander.ts";

/** Nothing was written: the event's cid and kid now name another client, or nobody. */
export class OpenvpnRestartedError extends Error {
  constructor() {
    super("OpenVPN restarted after the event came: its cid and kid may name another client now");
    this.name = "OpenvpnRestartedError";
  }
}

export class AnswersInRun implements ClientCommander {
  readonly #inner: ClientCommander;
  readonly #sameRun: () => boolean;

  constructor(inner: ClientCommander, sameRun: () => boolean) {
    this.#inner = inner;
    this.#sameRun = sameRun;
  }

  /**
   * Throws OpenvpnRestartedError when the run changed. Checked right before each write (nothing
   * awaits between the check and the command), and by whoever records an answer before
   * sending it (Admission.deny's audit line).
   */
  checkRun(): void {
    if (!this.#sameRun()) throw new OpenvpnRestartedError();
  }

  async pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void> {
    this.checkRun();
    await this.#inner.pendingAuth(cid, kid, url, timeoutSec);
  }

  async auth(cid: number, kid: number, lines: readonly string[], signIn?: SignInRef) {
    this.checkRun();
    await this.#inner.auth(cid, kid, lines, signIn);
  }

  async authNt(cid: number, kid: number): Promise<void> {
    this.checkRun();
    await this.#inner.authNt(cid, kid);
  }

  async deny(
    cid: number,
    kid: number,
    reason: string,
    clientReason: string,
    signIn?: SignInRef,
  ): Promise<void> {
    this.checkRun();
    await this.#inner.deny(cid, kid, reason, clientReason, signIn);
  }

  async halt(
    cid: number,
    kid: number,
    reason: string,
    clientReason: string,
    signIn?: SignInRef,
  ): Promise<void> {
    this.checkRun();
    await this.#inner.halt(cid, kid, reason, clientReason, signIn);
  }

  async kill(cid: number, message: string, openvpnRun?: string): Promise<void> {
    this.checkRun();
    await this.#inner.kill(cid, message, openvpnRun);
  }
}
