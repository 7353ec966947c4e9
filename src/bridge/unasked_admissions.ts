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
 * What let such a client in is told by its `session_state` and by whether OpenVPN asked about
 * any client in this run (causeOf):
 * - `Authenticated` (and `AuthenticatedEmptyUser`, by decide.ts's token rule): a reconnect
 *   OpenVPN admitted on the token it issued, asking nobody. That is `auth-gen-token` without
 *   `external-auth` (ssl_verify.c sets skip_auth for a valid token), whether or not
 *   `management-client-auth` is set: it asks about clients with no token all the same. Such a
 *   client comes back on a new cid, with only an ESTABLISHED.
 * - anything else (`Initial`, no token; or no auth-gen-token at all) was a full authentication,
 *   which OpenVPN asks about when `management-client-auth` is set. So while this link has seen
 *   no CONNECT or REAUTH in this run, the line is missing; once asked, the line is there, and
 *   the client's session ended between its answer and its handshake's end (revoked, logged out,
 *   while the record was not this link's): killed all the same, with no config blamed. A session
 *   that ends after this link's own answer is not looked for here: ending it killed its client
 *   (session_end.ts).
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import { loggedCertificateName } from "../logged_certificate.ts";
import type { Words } from "../log_words.ts";
import type { ClientEnv } from "../management/events.ts";
import { isKnownRun } from "../management/openvpn_run.ts";
import type { ServerMetrics } from "../metrics/port.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import type { SessionStore } from "../sessions/types.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { certificateName } from "./certificate_name.ts";
import { type ClientCommander, notWritten } from "./commander.ts";
import { isBypassed } from "./bypass_patterns.ts";
import { presentsToken } from "./decide.ts";
import { KILL_MESSAGE } from "./session_end.ts";
import { clientAddress } from "./tunnel_details.ts";

/**
 * Clients between their CONNECT and their ESTABLISHED (or DISCONNECT) recorded at most; past it
 * the oldest is forgotten, and its ESTABLISHED is checked in the store instead. Each is in its
 * TLS handshake (`hand-window`, 60 s by default); the benches' largest storm is 100,000.
 */
export const MAX_RECORDED_CLIENTS = 100_000;

/**
 * The kill of a client OpenVPN admitted on its token. RESTART would not do: the client keeps
 * its token through a server-pushed restart (push.c purges only the password), reconnects with
 * it at once, is admitted again, and so on until the token expires, never reaching a browser.
 * HALT stops the client (SIGTERM); started again, it holds no token, so its user signs in. Until
 * `external-auth` is added every reconnect is stopped so, and the text after the comma tells the
 * user why: a 2.6 client logs `Halt command was pushed by server ('<text>')` and tells its GUI
 * `>NOTIFY:info,server-pushed-halt,<text>`, and still halts (measured with 2.6.14). The text must
 * not start with `[`: push.c reads that as flags (`[P]`, `[N]`).
 */
export const TOKEN_KILL_MESSAGE =
  "HALT,VPN server misconfigured: ask its administrator to add external-auth to auth-gen-token";

/** The `client-kill` message of an unasked admission. */
export type UnaskedKillMessage = typeof TOKEN_KILL_MESSAGE | typeof KILL_MESSAGE;

/**
 * What let in a client nothing admitted: `token`, OpenVPN on its own token (auth-gen-token
 * without external-auth); `unasked`, OpenVPN without `management-client-auth`; `ended`, a session
 * that ended after its client was admitted. See the header.
 */
export type UnaskedCause = "token" | "unasked" | "ended";

/** The cause of an ESTABLISHED nothing admitted, by its `session_state` and whether OpenVPN asked. */
function causeOf(sessionState: string, askedInRun: boolean): UnaskedCause {
  if (presentsToken({ sessionState })) return "token";
  return askedInRun ? "ended" : "unasked";
}

export interface UnaskedAdmissionsDeps {
  server: string;
  store: Pick<SessionStore, "findSessionIdByCid">;
  /** Read at each check: a reload's list applies to the next one. */
  bypassCommonNames: () => readonly RegExp[];
  /** The run of OpenVPN the link told last (ClientEvents.openvpnRun): a new one resets all. */
  run: () => string | undefined;
  /**
   * `client-kill` of the client with `message`, sent only in `run` when that is given
   * (sign_in_guard.ts).
   */
  kill: (cid: number, run: string | undefined, message: UnaskedKillMessage) => Promise<void>;
  /**
   * A kill the link could not write, sent with its message when the link is back in that run
   * (killWhenLinked).
   */
  killLater: (cid: number, run: string, message: UnaskedKillMessage) => void;
  log: Logger;
  clock: Clock;
  metrics: Pick<ServerMetrics, "unaskedAdmission">;
}

/** An ESTABLISHED client, as the log lines name it. */
type Established = { cid: number; commonName: string | Words; clientIp: string };

/** Each cause's line: the config causes name the line to fix, an ended session blames none. */
const REPORTS: Record<UnaskedCause, { level: "warning" | "error"; message: string }> = {
  token: {
    level: "error",
    message: "OpenVPN admitted cid {cid} (certificate {commonName}, from {clientIp}) on its own " +
      "auth-gen-token without asking openvpn-auth-oidc: its config has auth-gen-token without " +
      "external-auth (add external-auth to that line and restart OpenVPN); stopping the client " +
      "(client-kill HALT: on a restart it would reconnect on its token)",
  },
  unasked: {
    level: "error",
    message: "OpenVPN admitted cid {cid} (certificate {commonName}, from {clientIp}) without " +
      "asking openvpn-auth-oidc: its config lacks management-client-auth (add that line to the " +
      "OpenVPN server's config and restart it); disconnecting the client",
  },
  ended: {
    level: "warning",
    message: "Cid {cid} (certificate {commonName}, from {clientIp}) finished its handshake with " +
      "no session: it ended after the client was admitted; disconnecting it",
  },
};

export class UnaskedAdmissions {
  readonly #deps: UnaskedAdmissionsDeps;
  /** The run the record is of. */
  #run: string | undefined;
  /** Per cid whose CONNECT this link saw in #run: whether it was answered with an admission. */
  readonly #clients = new Map<number, boolean>();
  /** Whether OpenVPN asked about any client in #run (so `management-client-auth` is set). */
  #askedInRun = false;
  /**
   * One interval per cause's line, and one for a store that could not tell: each kind of line is
   * logged at most once a minute, with how many it held back.
   */
  readonly #reports: Record<UnaskedCause, WarningInterval>;
  readonly #unknown: WarningInterval;

  constructor(deps: UnaskedAdmissionsDeps) {
    this.#deps = deps;
    const now = () => deps.clock.monotonic();
    this.#reports = {
      token: new WarningInterval(WARNING_INTERVAL_MS, now),
      unasked: new WarningInterval(WARNING_INTERVAL_MS, now),
      ended: new WarningInterval(WARNING_INTERVAL_MS, now),
    };
    this.#unknown = new WarningInterval(WARNING_INTERVAL_MS, now);
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
      halt: (cid, kid, reason, clientReason, signIn) =>
        inner.halt(cid, kid, reason, clientReason, signIn),
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
    const commonName = certificateName(env);
    if (isBypassed(commonName, this.#deps.bypassCommonNames())) return;
    const client: Established = {
      cid,
      commonName: loggedCertificateName(commonName),
      clientIp: clientAddress(env),
    };
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
    const cause = causeOf(env.get("session_state") ?? "", askedInRun);
    const { level, message } = REPORTS[cause];
    // Both config causes are OpenVPN admitting a client without asking.
    if (cause !== "ended") this.#deps.metrics.unaskedAdmission?.();
    this.#report(this.#reports[cause], level, message, client);
    await this.#kill(cid, run, cause === "token" ? TOKEN_KILL_MESSAGE : KILL_MESSAGE);
  }

  async #kill(cid: number, run: string | undefined, message: UnaskedKillMessage): Promise<void> {
    const known = isKnownRun(run) ? run : undefined;
    try {
      await this.#deps.kill(cid, known, message);
    } catch (error) {
      // Held with its message: a token admission's kill held as a bare RESTART brought the
      // client back on its token once more, to be halted only at that ESTABLISHED.
      if (known !== undefined && notWritten(error)) this.#deps.killLater(cid, known, message);
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
