/**
 * Who each tunnel of one OpenVPN server is, by cid, as its audit lines name them (audit.ts):
 * `established` at its ESTABLISHED, `client_left` at its DISCONNECT. Filled when the bridge admits
 * the client, which is when it knows who that is, so that an ESTABLISHED costs no store read:
 * after an OpenVPN restart with auth-gen-token, every client reconnects with its token at once,
 * and each ESTABLISHED read its session back from the store (a Redis round trip each).
 */
import type { AuditSubject } from "../audit.ts";

/**
 * Tunnels named at most, the oldest dropped first: more than a server has clients, and few
 * enough to keep (a few hundred bytes each).
 */
export const MAX_TUNNELS = 65_536;

/**
 * The names of one run of OpenVPN's tunnels: within a run a cid names one client, from its
 * CONNECT to its DISCONNECT. Kept in memory only (nothing written), and only for the run the
 * link told last: a name given for another run is not taken, and a new run forgets them all
 * (their clients went with their run; the cids name others now).
 */
export class TunnelNames {
  readonly #byCid = new Map<number, AuditSubject>();
  #run: string | undefined;

  /** The link told OpenVPN's run: a run other than the last one forgets every name. */
  runIs(run: string | undefined): void {
    if (run === this.#run) return;
    this.#run = run;
    this.#byCid.clear();
  }

  /**
   * The bridge admitted `who` on `cid`, in OpenVPN's run `run` (the one its answer was written
   * in): its tunnel is theirs until its DISCONNECT. The browser's address of a sign-in is not
   * the tunnel's, and is left out.
   */
  admitted(cid: number, run: string | undefined, who: AuditSubject): void {
    if (run !== this.#run) return;
    this.name(cid, who.browserIp === undefined ? who : { ...who, browserIp: undefined });
  }

  /** Names the tunnel on `cid` (of the run the link told last) `who`. */
  name(cid: number, who: AuditSubject): void {
    this.#byCid.delete(cid);
    if (this.#byCid.size >= MAX_TUNNELS) this.#byCid.delete(this.#byCid.keys().next().value!);
    this.#byCid.set(cid, who);
  }

  /**
   * Who the tunnel on `cid` is, when its name is one of a client with the certificate name
   * `commonName` (a client without a certificate has "").
   */
  named(cid: number, commonName: string): AuditSubject | undefined {
    const who = this.#byCid.get(cid);
    return who?.commonName === commonName ? who : undefined;
  }

  /** Who the tunnel on `cid` was, forgotten: its client left. */
  take(cid: number): AuditSubject | undefined {
    const who = this.#byCid.get(cid);
    this.#byCid.delete(cid);
    return who;
  }

  /**
   * Forgets the tunnels not in OpenVPN's client list `liveCids`: their DISCONNECTs came while the
   * link was down, and when they left is not known (README).
   */
  keepOnly(liveCids: ReadonlySet<number>): void {
    for (const cid of this.#byCid.keys()) if (!liveCids.has(cid)) this.#byCid.delete(cid);
  }
}
