/**
 * Catches the clients OpenVPN let in without asking the bridge. A server whose config lacks
 * `management-client-auth` (an easy line to miss) sends no `>CLIENT:CONNECT`: every client with
 * a valid certificate completes its handshake, and nothing else tells (measured with 2.6.14:
 * the greeting and every reply are as with the line). What the link shows is the client's
 * `>CLIENT:ESTABLISHED` with no CONNECT before it. So each ESTABLISHED is checked against what
 * admitted its client; one nothing admitted is disconnected, logged and counted.
 *
 * Admitted, checked cheapest first (a false positive drops a real user):
 * - an answer (`client-auth`, `client-auth-nt`) this link wrote to a CONNECT it saw for that cid
 *   in this run of OpenVPN: the record, which answers nearly every ESTABLISHED (a storm of
 *   reconnects brings one each) without a store read;
 * - a common name on `bypass_common_names` (admitted with no session);
 * - a session bound to the cid on this server: admitted before this bridge restarted, by an
 *   earlier holder of the link in a cluster, or before the link came up again.
 *
 * The error blames OpenVPN's config only while this link has seen no CONNECT or REAUTH in this
 * run: OpenVPN asks about every client when `management-client-auth` is set, so one ask proves
 * the line is there. Once asked, an ESTABLISHED nothing admits is a client whose session ended
 * between its answer and its handshake's end (revoked, logged out, while the record was not
 * this link's): killed all the same, and logged as that. A session that ends after this link's
 * own answer is not looked for here: ending it killed its client (session_end.ts).
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { ClientEnv } from "../management/events.ts";
import { isKnownRun } from "../management/openvpn_run.ts";
import type { ServerMetrics } from "../metrics/port.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import type { SessionStore } from "../sessions/types.ts";
import { WarningInterval } from "../warning_interval.ts";
import { type ClientCommander, notWritten } from "./commander.ts";
import { readsSession } from "./decide.ts";

/**
 * Clients between their CONNECT and their ESTABLISHED (or DISCONNECT) recorded at most; past it
 * the oldest is forgotten, and its ESTABLISHED is checked in the store instead. Each is in its
 * TLS handshake (`hand-window`, 60 s by default); the benches' largest storm is 100,000.
 */
export const MAX_RECORDED_CLIENTS = 100_000;

/** Each kind of line below is logged at most once this often, with how many it held back. */
const REPORT_INTERVAL_MS = 60_000;

export interface UnaskedAdmissionsDeps {
  server: string;
  store: Pick<SessionStore, "findSessionIdByCid">;
  /** Read at each check: a reload's list applies to the next one. */
  bypassCommonNames: () => readonly RegExp[];
  /** The run of OpenVPN the link told last (ClientEvents.openvpnRun): a new one resets all. */
  run: () => string | undefined;
  /** `client-kill` of the client, sent only in `run` when that is given (sign_in_guard.ts). */
  kill: (cid: number, run: string | undefined) => Promise<void>;
  /** A kill the link could not write, sent when it is back in that run (killWhenLinked). */
  killLater: (cid: number, run: string) => void;
  log: Logger;
  clock: Clock;
  metrics: Pick<ServerMetrics, "unaskedAdmission">;
}

/** An ESTABLISHED client, as the log lines name it. */
type Established = { cid: number; commonName: string; clientIp: string };

export class UnaskedAdmissions {
  readonly #deps: UnaskedAdmissionsDeps;
  /** The run the record is of. */
  #run: string | undefined;
  /** Per cid whose CONNECT this link saw in #run: whether it was answered with an admission. */
  readonly #clients = new Map<number, boolean>();
  /** Whether OpenVPN asked about any client in #run (so `management-client-auth` is set). */
  #askedInRun = false;
  readonly #unasked: WarningInterval;
  readonly #ended: WarningInterval;
  readonly #unknown: WarningInterval;

  constructor(deps: UnaskedAdmissionsDeps) {
    this.#deps = deps;
    const now = () => deps.clock.monotonic();
    this.#unasked = new WarningInterval(REPORT_INTERVAL_MS, now);
    this.#ended = new WarningInterval(REPORT_INTERVAL_MS, now);
    this.#unknown = new WarningInterval(REPORT_INTERVAL_MS, now);
  }

  /**
   * The commander every answer of this link goes through (events, sign-ins, a cluster's work
   * items): an admission of a client whose CONNECT was seen is recorded as it is written, so its
   * ESTABLISHED, which may come in the same read as OpenVPN's reply, finds it. One OpenVPN then
   * refuses leaves a record that can only let pass an ESTABLISHED that cannot come.
   */
  recording(inner: ClientCommander): ClientCommander {
    return {
      pendingAuth: (cid, kid, url, timeoutSec) => inner.pendingAuth(cid, kid, url, timeoutSec),
      auth: (cid, kid, lines, signIn) => {
        this.#admitted(cid);
        return inner.auth(cid, kid, lines, signIn);
      },
      authNt: (cid, kid) => {
        this.#admitted(cid);
        return inner.authNt(cid, kid);
      },
      deny: (cid, kid, reason, clientReason, signIn) =>
        inner.deny(cid, kid, reason, clientReason, signIn),
      kill: (cid, message, openvpnRun) => inner.kill(cid, message, openvpnRun),
    };
  }

  /** OpenVPN asked about a client (CONNECT, REAUTH): call before the event is answered. */
  asked(kind: "connect" | "reauth", cid: number): void {
    this.#sync();
    this.#askedInRun = true;
    // A REAUTH's client is established already: no ESTABLISHED to wait for.
    if (kind === "reauth") return;
    if (this.#clients.size >= MAX_RECORDED_CLIENTS && !this.#clients.has(cid)) {
      this.#clients.delete(this.#clients.keys().next().value!);
    }
    this.#clients.set(cid, false);
  }

  /** The client left (DISCONNECT). */
  left(cid: number): void {
    this.#sync();
    this.#clients.delete(cid);
  }

  /** Checks one ESTABLISHED; disconnects its client when nothing admitted it. */
  async established(cid: number, env: ClientEnv): Promise<void> {
    this.#sync();
    const recorded = this.#clients.get(cid);
    this.#clients.delete(cid);
    if (recorded === true) return;
    const client: Established = {
      cid,
      commonName: env.get("common_name") ?? "",
      clientIp: env.get("untrusted_ip") ?? env.get("untrusted_ip6") ?? "",
    };
    // The one bypass rule (decide.ts): a bypassed name reads no session.
    const bypass = this.#deps.bypassCommonNames();
    const asSession = { kind: "reauth", sessionState: "", commonName: client.commonName } as const;
    if (!readsSession(asSession, bypass)) return;
    // Read now: the answer below comes after a store read, and it is about this run.
    const run = this.#run;
    const askedInRun = this.#askedInRun;
    const { store, server } = this.#deps;
    try {
      if (await store.findSessionIdByCid(server, cid) !== undefined) return;
    } catch (error) {
      this.#report(
        this.#unknown,
        error instanceof StoreUnavailableError ? "warning" : "error",
        "Could not tell whether cid {cid} (certificate {commonName}, from {clientIp}) was " +
          "admitted through openvpn-auth-oidc: the session store did not answer; not " +
          "disconnected: {error}",
        { ...client, error: String(error) },
      );
      return;
    }
    // OpenVPN restarted meanwhile: the client went with its run, and the cid may name another.
    if (this.#deps.run() !== run) return;
    if (askedInRun) {
      this.#report(
        this.#ended,
        "warning",
        "Cid {cid} (certificate {commonName}, from {clientIp}) finished its handshake with no " +
          "session: it ended after the client was admitted; disconnecting it",
        client,
      );
    } else {
      this.#deps.metrics.unaskedAdmission?.();
      this.#report(
        this.#unasked,
        "error",
        "OpenVPN admitted cid {cid} (certificate {commonName}, from {clientIp}) without asking " +
          "openvpn-auth-oidc: its config lacks management-client-auth (add that line to the " +
          "OpenVPN server's config and restart it); disconnecting the client",
        client,
      );
    }
    await this.#kill(cid, run);
  }

  async #kill(cid: number, run: string | undefined): Promise<void> {
    const known = isKnownRun(run) ? run : undefined;
    try {
      await this.#deps.kill(cid, known);
    } catch (error) {
      if (known !== undefined && notWritten(error)) this.#deps.killLater(cid, known);
      this.#deps.log.warning("client-kill of cid {cid} failed: {error}", {
        cid,
        error: String(error),
      });
    }
  }

  #admitted(cid: number): void {
    this.#sync();
    if (this.#clients.has(cid)) this.#clients.set(cid, true);
  }

  /** Starts the record anew when OpenVPN's run changed: its cids now name other clients. */
  #sync(): void {
    const run = this.#deps.run();
    if (run === this.#run) return;
    this.#run = run;
    this.#clients.clear();
    this.#askedInRun = false;
  }

  #report(
    interval: WarningInterval,
    level: "warning" | "error",
    message: string,
    properties: Record<string, unknown>,
  ): void {
    const more = interval.due();
    if (more === undefined) return;
    if (more === 0) this.#deps.log[level](message, properties);
    else {
      this.#deps.log[level](`${message} ({more} more since the last such line)`, {
        ...properties,
        more,
      });
    }
  }
}
