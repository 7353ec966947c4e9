/**
 * A small OpenVPN 2.6 server, its clients and the bridge's ClientEvents in one place, for the
 * model-based test of the tunnels' audit lines (tunnel_audit_model_test.ts): each action sends
 * the events real OpenVPN sends for it (openvpn-facts.md), answers them as OpenVPN takes the
 * bridge's answers (client-auth lets a client in, client-deny or a kill drops it), and files
 * every audit line under the tunnel it is about. A tunnel is one client on one cid in one run of
 * OpenVPN; the world knows who each is, the bridge has to find out.
 *
 * The bridge restarts (a new ClientEvents and Admission over the same store), its link drops and
 * comes back (the events of meanwhile are lost), OpenVPN restarts in place (SIGHUP: a DISCONNECT
 * for each client, then new runs) or as a new process. Events sent together are handled
 * together, as ServerLink does (each begins in order, none waits for another), over a store
 * whose every call waits a few turns chosen by `random`, so that their store calls interleave.
 */
import { signInGuard } from "../../src/bridge/sign_in_guard.ts";
import { LOGIN_PATH_PREFIX } from "../../src/bridge/login_url.ts";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { testClientEvents, testEnv, testFinishedLogin } from "./client_events_fixture.ts";
import { FakeClock } from "./fake_clock.ts";
import type { CapturedLine } from "./log_capture.ts";
import type { RecordedCommand } from "./recording_commander.ts";

/** Certificate names on `bypass_common_names`. */
const BYPASSED = /^gw-\d+$/;

/** A client device: a user's, which signs in and reconnects with its token, or a gateway's. */
export interface Device {
  /** Its certificate name, and for a user's the user name too. */
  name: string;
  bypassed: boolean;
  /** The session_id of the auth token OpenVPN gave it, which it presents when it reconnects. */
  token: string | undefined;
  tunnel: Tunnel | undefined;
}

export type AuditLine = Pick<CapturedLine, "properties"> & { step: number };

/** One client on one cid in one run of OpenVPN, from its CONNECT on. */
export interface Tunnel {
  /** Which tunnel, in the order of their CONNECTs. */
  id: number;
  run: string;
  cid: number;
  kid: number;
  device: Device;
  /** The session_id its events carry ("" for a gateway). */
  sessionId: string;
  /**
   * What OpenVPN did with it: waiting for the answer, let in, up, refused or gone; or left behind
   * by its client's reconnect on a new cid, until it times out (reconnectWithToken).
   */
  state: "connecting" | "authorized" | "established" | "lingering" | "refused" | "gone";
  /** OpenVPN sent its ESTABLISHED (whether or not the bridge heard it). */
  wasEstablished: boolean;
  /** The bridge was handed its DISCONNECT. */
  departureHeard: boolean;
  /**
   * Left behind by its client's reconnect, it outlived the bridge process that knew it and the
   * session that moved off it (README: nothing names it then).
   */
  forgotten: { bridgeRestarted: boolean; sessionEnded: boolean };
  /** Its audit lines, by event. */
  lines: Map<string, AuditLine[]>;
  /** The login link the bridge sent it, while its user has not finished there. */
  loginUrl: string | undefined;
}

type Sent = () => Promise<void>;

/** The world a sequence of actions plays in; `close()` it at the end. */
export class TunnelWorld {
  readonly clock = new FakeClock();
  readonly tunnels: Tunnel[] = [];
  readonly devices: Device[];
  /** Audit lines no tunnel could be found for (each a fault). */
  readonly strayLines: AuditLine[] = [];
  readonly #store: SessionStore;
  #bridge!: ReturnType<typeof testClientEvents>;
  #commandsSeen = 0;
  #pid = 4000;
  #run = "";
  #nextCid = 0;
  #sessions = 0;
  #logins = 0;
  #linkUp = true;
  /** The user of the sign-in begun next leaves the browser for later (connect). */
  #finishLater = false;
  /** The action being played: the audit lines it wrote are filed with it (fileLines). */
  step = 0;

  constructor(random: () => number, devices: { users: string[]; gateways: string[] }) {
    this.#store = slowStore(new MemoryStore({ maxEntries: 1000, now: this.clock.now }), random);
    this.devices = [
      ...devices.users.map((name) => ({
        name,
        bypassed: false,
        token: undefined,
        tunnel: undefined,
      })),
      ...devices.gateways.map((name) => ({
        name,
        bypassed: true,
        token: undefined,
        tunnel: undefined,
      })),
    ];
  }

  /** Starts OpenVPN and the bridge, its link up. */
  async start(): Promise<void> {
    this.#run = this.#newRun("CONNECTED");
    this.#bridge = this.#newBridge();
    await this.#linkComesUp();
  }

  close(): void {
    this.#bridge.events.close();
  }

  /** The tunnels OpenVPN has now: waiting for the answer, let in, or left behind. */
  live(): Tunnel[] {
    return this.tunnels.filter(({ state }) => state !== "refused" && state !== "gone");
  }

  /**
   * A device with no tunnel connects: a gateway's is let in, a user's is sent to sign in, and its
   * user finishes at once, or later (`finishLater`: finishSignIn).
   */
  async connect(device: Device, finishLater = false): Promise<void> {
    const sessionId = device.bypassed ? "" : `s-${++this.#sessions}`;
    const tunnel = this.#newTunnel(device, sessionId);
    this.#finishLater = finishLater;
    try {
      await this.#sendAndAnswer([this.#connectOf(tunnel, "Initial")], false);
    } finally {
      this.#finishLater = false;
    }
  }

  /**
   * The user of `tunnel` finishes the sign-in its client was sent to, in the browser, whatever
   * became of the client since (it may have left, OpenVPN may have restarted).
   */
  async finishSignIn(tunnel: Tunnel): Promise<void> {
    const url = tunnel.loginUrl!;
    tunnel.loginUrl = undefined;
    await this.#sendAndAnswer([() => this.#signIn(tunnel, url)], false);
  }

  /** A user's device with a token and no tunnel comes back with it (session_state=Authenticated). */
  async comeBack(device: Device): Promise<void> {
    const tunnel = this.#newTunnel(device, device.token!);
    await this.#sendAndAnswer([this.#connectOf(tunnel, "Authenticated")], false);
  }

  async establish(tunnel: Tunnel): Promise<void> {
    tunnel.state = "established";
    tunnel.wasEstablished = true;
    await this.#sendAndAnswer(
      [() => this.#bridge.events.onEstablished(tunnel.cid, envOf(tunnel))],
      false,
    );
  }

  /** TLS renegotiation: a REAUTH with the next key id (a certificate-only client presents no token). */
  async reauth(tunnel: Tunnel): Promise<void> {
    tunnel.kid++;
    const env = envOf(tunnel, { session_state: "Initial" });
    await this.#sendAndAnswer(
      [() => this.#bridge.events.onReauth(tunnel.cid, tunnel.kid, env)],
      false,
    );
  }

  /**
   * An administrator revokes the session of the device's token (`sessions revoke`): the bridge
   * kills its client, which comes back with its token later (comeBack) and is sent to sign in.
   */
  async revoke(device: Device): Promise<void> {
    const { sessionEnd } = this.#bridge;
    for (const tunnel of this.#lingering()) {
      if (tunnel.sessionId === device.token) tunnel.forgotten.sessionEnded = true;
    }
    await this.#sendAndAnswer([async () => {
      await sessionEnd.endAll([device.token!], "admin-revoke");
    }], false);
  }

  async leave(tunnel: Tunnel): Promise<void> {
    await this.#sendAndAnswer([this.#disconnectOf(tunnel)], false);
  }

  /**
   * The user's client reconnects with its token on a new cid (SIGUSR1, a new network): its new
   * CONNECT and its old tunnel's DISCONNECT, `together` or one by one. The DISCONNECT comes
   * `first` (explicit-exit-notify), `after` (OpenVPN closes the old instance of the same
   * certificate name once the new one is in, ~2 s later), or `later`: with duplicate-cn the old
   * instance stays until its keepalive times out (a later `leave`), whatever happens meanwhile.
   */
  async reconnectWithToken(
    old: Tunnel,
    disconnect: "first" | "after" | "later",
    together: boolean,
  ): Promise<void> {
    const tunnel = this.#newTunnel(old.device, old.sessionId);
    const connect = this.#connectOf(tunnel, "Authenticated");
    if (disconnect === "later") {
      old.state = "lingering";
      return await this.#sendAndAnswer([connect], false);
    }
    const left = this.#disconnectOf(old);
    await this.#sendAndAnswer(disconnect === "first" ? [left, connect] : [connect, left], together);
  }

  /**
   * The management link drops (`restartBridge`: with the bridge, which comes back as a new
   * process over the same store) and comes back in the same run: meanwhile OpenVPN went on, and
   * what it told is lost; `leaves` and `establishes` say which tunnels left or came up.
   */
  async linkDrops(
    { restartBridge, leaves, establishes }: {
      restartBridge: boolean;
      leaves: (tunnel: Tunnel) => boolean;
      establishes: (tunnel: Tunnel) => boolean;
    },
  ): Promise<void> {
    this.#linkUp = false;
    for (const tunnel of this.live()) {
      if (tunnel.state === "authorized" && establishes(tunnel)) {
        tunnel.state = "established";
        tunnel.wasEstablished = true;
      }
      if (leaves(tunnel)) this.#gone(tunnel);
    }
    if (restartBridge) {
      for (const tunnel of this.#lingering()) tunnel.forgotten.bridgeRestarted = true;
      this.#bridge.events.close();
      this.#bridge = this.#newBridge();
    }
    this.clock.advance(1000);
    await this.#linkComesUp();
  }

  /**
   * OpenVPN restarts in place (SIGHUP; measured order: a DISCONNECT for each client, then
   * `>STATE:...,RECONNECTING`, then `CONNECTED`), its clients sent `together` or one by one; its
   * clients come back later (comeBack), numbered from 0 again.
   */
  async sighup(together: boolean): Promise<void> {
    await this.#sendAndAnswer(this.live().map((tunnel) => this.#disconnectOf(tunnel)), together);
    const { events } = this.#bridge;
    this.clock.advance(1000);
    await events.openvpnRunIs(this.#newRun("RECONNECTING"));
    this.#run = this.#newRun("CONNECTED");
    this.#nextCid = 0;
    await events.openvpnRunIs(this.#run);
    // The state's reconcile, against the list OpenVPN has now: nobody yet.
    await events.forgetClientsExcept(new Set(), this.clock.now());
  }

  /** OpenVPN restarts as a new process: the link drops, every client goes unheard. */
  async restartOpenvpn(): Promise<void> {
    this.#linkUp = false;
    for (const tunnel of this.live()) this.#gone(tunnel);
    this.#pid++;
    this.#run = this.#newRun("CONNECTED");
    this.#nextCid = 0;
    this.clock.advance(1000);
    await this.#linkComesUp();
  }

  #lingering(): Tunnel[] {
    return this.tunnels.filter(({ state }) => state === "lingering");
  }

  /** Files the audit lines written since the last call under their tunnels. */
  fileLines(lines: readonly CapturedLine[]): void {
    for (const { category, properties } of lines) {
      if (category !== "audit") continue;
      const line = { properties, step: this.step };
      const tunnel = this.#tunnelOf(String(properties["event"]), Number(properties["cid"]));
      if (tunnel === undefined) {
        this.strayLines.push(line);
        continue;
      }
      const event = String(properties["event"]);
      tunnel.lines.set(event, [...(tunnel.lines.get(event) ?? []), line]);
    }
  }

  /**
   * The tunnel an audit line is about: the latest on its cid to which the event it records
   * happened (for `client_left`, whose DISCONNECT the bridge heard).
   */
  #tunnelOf(event: string, cid: number): Tunnel | undefined {
    const about = (tunnel: Tunnel) => {
      if (tunnel.cid !== cid) return false;
      if (event === "client_left") return tunnel.departureHeard;
      if (event === "established") return tunnel.wasEstablished;
      return true;
    };
    return this.tunnels.findLast(about);
  }

  #newRun(state: string): string {
    return `${this.#pid}@${Math.floor(this.clock.now() / 1000)}:${state}`;
  }

  #newBridge() {
    this.#commandsSeen = 0;
    return testClientEvents({
      store: this.#store,
      clock: this.clock,
      bypassCommonNames: [BYPASSED],
      // Unique across the bridge's restarts, as random ones are: 22 characters, as real ones.
      newLoginId: () => `L${String(++this.#logins).padStart(21, "0")}`,
    });
  }

  /** As ServerLink at a link-up: the run OpenVPN tells, then the clients gone meanwhile. */
  async #linkComesUp(): Promise<void> {
    const { events } = this.#bridge;
    await events.adoptPendingLogins();
    await events.openvpnRunIs(this.#run);
    this.#linkUp = true;
    const liveCids = new Set(this.live().map(({ cid }) => cid));
    await events.forgetClientsExcept(liveCids, this.clock.now());
  }

  #newTunnel(device: Device, sessionId: string): Tunnel {
    const tunnel: Tunnel = {
      id: this.tunnels.length,
      run: this.#run,
      cid: this.#nextCid++,
      kid: 1,
      device,
      sessionId,
      state: "connecting",
      wasEstablished: false,
      departureHeard: false,
      forgotten: { bridgeRestarted: false, sessionEnded: false },
      lines: new Map(),
      loginUrl: undefined,
    };
    this.tunnels.push(tunnel);
    device.tunnel = tunnel;
    return tunnel;
  }

  #connectOf(tunnel: Tunnel, sessionState: string): Sent {
    const env = envOf(tunnel, { session_state: sessionState });
    return () => this.#bridge.events.onConnect(tunnel.cid, tunnel.kid, env);
  }

  #disconnectOf(tunnel: Tunnel): Sent {
    this.#gone(tunnel);
    tunnel.departureHeard = true;
    const traffic = { time_duration: "60", bytes_received: "1000", bytes_sent: "2000" };
    const env = envOf(tunnel, traffic);
    return () => this.#bridge.events.onDisconnect(tunnel.cid, env);
  }

  #gone(tunnel: Tunnel): void {
    // Its sign-in, if unfinished, is not: the browser is still open.
    tunnel.state = "gone";
    if (tunnel.device.tunnel === tunnel) tunnel.device.tunnel = undefined;
  }

  /**
   * Hands `sent` to the bridge, `together` as ServerLink does or each after the one before was
   * handled, then lets OpenVPN act on the bridge's answers until it has no more to say.
   */
  async #sendAndAnswer(sent: Sent[], together: boolean): Promise<void> {
    if (!this.#linkUp) throw new Error("The link is down: OpenVPN cannot send events");
    if (together) await Promise.all(sent.map((send) => send()));
    else for (const send of sent) await send();
    await drain();
    for (let more = true; more;) more = await this.#takeAnswers();
    this.clock.advance(1000);
    await drain();
  }

  /** OpenVPN acts on the commands the bridge sent since the last call; whether there were any. */
  async #takeAnswers(): Promise<boolean> {
    const commands = this.#bridge.commander.commands.slice(this.#commandsSeen);
    this.#commandsSeen += commands.length;
    for (const command of commands) await this.#take(command);
    await drain();
    return commands.length > 0;
  }

  async #take(command: RecordedCommand): Promise<void> {
    const tunnel = this.live().find(({ cid, run }) => cid === command.cid && run === this.#run);
    if (tunnel === undefined) return;
    switch (command.kind) {
      case "pending":
        if (!this.#finishLater) return await this.#signIn(tunnel, command.url);
        tunnel.loginUrl = command.url;
        return;
      case "auth":
      case "auth-nt":
        if (command.kid !== tunnel.kid || tunnel.state !== "connecting") return;
        tunnel.state = "authorized";
        if (!tunnel.device.bypassed) tunnel.device.token = tunnel.sessionId;
        return;
      case "deny":
      case "halt":
        if (command.kid !== tunnel.kid) return;
        if (tunnel.state === "connecting") {
          // AUTH_FAILED: the client drops its token and signs in next time.
          tunnel.state = "refused";
          tunnel.device.tunnel = undefined;
          tunnel.device.token = undefined;
          return;
        }
        // A refused REAUTH drops the client.
        return await this.#disconnectOf(tunnel)();
      case "kill":
        if (command.openvpnRun !== undefined && command.openvpnRun !== this.#run) return;
        return await this.#disconnectOf(tunnel)();
    }
  }

  /** The user finishes the sign-in the bridge sent the client to, as the callback does. */
  async #signIn(tunnel: Tunnel, url: string): Promise<void> {
    const { events, admission, commander } = this.#bridge;
    const id = url.slice(url.indexOf(LOGIN_PATH_PREFIX) + LOGIN_PATH_PREFIX.length);
    const undo = admission.signInTaking({ server: "default", cid: tunnel.cid, id });
    const login = await this.#store.takePending(id);
    if (login === undefined) return undo();
    const name = tunnel.device.name;
    const claims = { sub: `u-${name}`, preferred_username: name, groups: ["/vpn-users"] };
    const finished = testFinishedLogin(login, {
      claims,
      subject: claims.sub,
      refreshToken: `rt-${tunnel.id}`,
    });
    const guarded = signInGuard(
      commander,
      (cid, signIn) => events.isCurrentSignIn(cid, signIn),
      () => events.openvpnRun,
      (cid, signIn) => events.signInAnswered(cid, signIn),
    );
    await admission.admitLogin(finished, guarded);
  }
}

/**
 * The ENV OpenVPN sends with the tunnel's events: a 2.6 certificate-only client (resumable from
 * its sign-in on: it presents its token when it reconnects), or a gateway with no session_id.
 */
function envOf(tunnel: Tunnel, values: Record<string, string> = {}): Map<string, string> {
  return testEnv({
    common_name: tunnel.device.name,
    session_id: tunnel.sessionId,
    IV_VER: "2.6.14",
    untrusted_ip: "198.51.100.7",
    untrusted_port: String(40_000 + tunnel.id),
    ifconfig_pool_remote_ip: `10.8.0.${10 + tunnel.cid}`,
    ...values,
  });
}

/**
 * `store`, each call of which waits 0 to 3 turns of the microtask queue first (`random`); but
 * pendingPages, a generator read as it comes.
 */
function slowStore(store: SessionStore, random: () => number): SessionStore {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name === "pendingPages") return value.bind(target);
      return async (...args: unknown[]) => {
        for (let turns = Math.floor(random() * 4); turns > 0; turns--) await Promise.resolve();
        return await value.apply(target, args);
      };
    },
  });
}

/** Lets the work the handled events started (a kill, a revocation) run to its end. */
async function drain(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}
