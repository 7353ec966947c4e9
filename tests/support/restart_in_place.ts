/**
 * OpenVPN 2.6 restarting inside its process (SIGHUP or SIGUSR1 of the server), played by the
 * fake management server as the real one did it. Measured with 2.6.14 in the e2e lab: a server
 * with `management-hold`, `auth-gen-token 0 43200 external-auth` and `auth-gen-token-secret`,
 * `explicit-exit-notify 1`, and a management client with `state on` that answered every CONNECT
 * with `client-auth-nt`; alice (user name and password) on cid 0 and bob (certificate only) on
 * cid 1, both connected, then `kill -HUP`. Excerpt (anonymised as tests/fixtures/transcripts;
 * `...`: ENV lines left out):
 *
 * ```
 * 3.863 -- kill -HUP openvpn
 * 5.866 << >CLIENT:DISCONNECT,1
 * 5.866 << >CLIENT:ENV,time_duration=5
 * 5.866 << >CLIENT:ENV,bytes_sent=2707
 * 5.866 << >CLIENT:ENV,bytes_received=2410
 * 5.866 << ...
 * 5.867 << >CLIENT:ENV,common_name=bob
 * 5.867 << >CLIENT:ENV,session_id=ZRwz4ccF24lVFxCy
 * 5.867 << >CLIENT:ENV,session_state=Initial
 * 5.867 << >CLIENT:ENV,username=
 * 5.867 << ...
 * 5.867 << >CLIENT:ENV,END
 * 5.879 << >CLIENT:DISCONNECT,0
 * 5.879 << >CLIENT:ENV,time_duration=5
 * 5.879 << ...                       (as bob's: bytes_*, common_name=alice, username=alice, ...)
 * 5.879 << >CLIENT:ENV,END
 * 5.909 << >STATE:1796522498,RECONNECTING,SIGHUP,,,,,
 * 5.909 >> status 3
 * 5.909 << >HOLD:Waiting for hold release:0
 * 5.909 >> hold release
 * 5.910 << ERROR: The 'status' command is not supported by the current daemon mode
 * 5.910 << SUCCESS: hold release succeeded
 * 6.918 << >STATE:1796522499,ASSIGN_IP,,10.201.0.1,,,,
 * 6.918 >> status 3
 * 6.919 << >STATE:1796522499,CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194
 * 6.919 << TITLE ... (no CLIENT_LIST line) ... END
 * 10.960 << >CLIENT:CONNECT,0,1      (alice, session_state=Authenticated: her token)
 * 11.385 << >CLIENT:CONNECT,1,1      (bob, session_state=Initial)
 * 12.102 << >CLIENT:ESTABLISHED,0
 * 12.504 << >CLIENT:ESTABLISHED,1
 * ```
 *
 * The DISCONNECTs come 2 s after the signal (the exit notification's wait; at once with
 * `explicit-exit-notify 0`), all before the state line. SIGUSR1 gave the same but for
 * `RECONNECTING,SIGUSR1`, `>HOLD:Waiting for hold release:1`, ASSIGN_IP and CONNECTED in the
 * same second as RECONNECTING, and bob back first, on cid 0, alice on cid 1. A client still in
 * its browser sign-in (client-pending-auth) had its `>CLIENT:DISCONNECT` too, with an empty ENV.
 * SIGTERM: the DISCONNECTs, then `>STATE:...,EXITING,SIGTERM`, then the socket closed.
 *
 * `state all` then prints each of those states after the start's (CONNECTING, ASSIGN_IP and
 * CONNECTED, openvpn_side.ts), in the order told: restartInPlace adds them to the stand-in's
 * history. With the hold released at once, a SIGUSR1 sent as soon as CONNECTED came gave all
 * three states in that same second, twice in a row (measured, explicit-exit-notify 0).
 */
import type { FakeManagementServer } from "./fake_management_server.ts";

/** The signals that restart an OpenVPN server in place. */
export type RestartSignal = "SIGHUP" | "SIGUSR1";

/** A client OpenVPN had when it restarted: its cid and the ENV of its DISCONNECT. */
export interface DepartingClient {
  cid: number;
  env: Record<string, string>;
}

/** The hold line after each restart, as measured. */
const HOLD_LINE: Record<RestartSignal, string> = {
  SIGHUP: ">HOLD:Waiting for hold release:0",
  SIGUSR1: ">HOLD:Waiting for hold release:1",
};

/** The seconds from RECONNECTING to the new run's states, as measured. */
const RESTART_SECONDS: Record<RestartSignal, number> = { SIGHUP: 1, SIGUSR1: 0 };

/** OpenVPN's answer to `status` while it restarts. */
const STATUS_WHILE_RESTARTING =
  "ERROR: The 'status' command is not supported by the current daemon mode";

/** OpenVPN adds `states` to its history, and tells each in a `>STATE:` line. */
function tellStates(openvpn: FakeManagementServer, states: readonly string[]): void {
  openvpn.laterStates.push(...states);
  openvpn.sendLines(states.map((state) => `>STATE:${state}`));
}

/** Resolves when `openvpn` receives `line` after position `mark` of what it received. */
function receivedSince(openvpn: FakeManagementServer, mark: number, line: string) {
  return openvpn.waitForLine((seen) => seen === line && openvpn.received.lastIndexOf(seen) >= mark);
}

/**
 * Plays the measured restart on `openvpn`: the DISCONNECT of each of `departing`, in the order
 * given (OpenVPN sent the newest cid's first), `>STATE:{at},RECONNECTING,{signal}` and the hold,
 * then the new run's ASSIGN_IP and CONNECTED (a second later after SIGHUP). The bridge's
 * `status 3` in between gets OpenVPN's ERROR. Resolves once the bridge released the hold and asked the new run's
 * client list: the clients may come back then, each with a new CONNECT (key id 1).
 */
export async function restartInPlace(
  openvpn: FakeManagementServer,
  signal: RestartSignal,
  departing: readonly DepartingClient[],
  at: number,
): Promise<void> {
  for (const { cid, env } of departing) {
    openvpn.sendClientBlock("DISCONNECT", cid, undefined, env);
  }
  const respond = openvpn.respond;
  openvpn.respond = (command) =>
    command === "status 3" ? [STATUS_WHILE_RESTARTING] : respond?.(command) ?? "default";
  const restarting = openvpn.received.length;
  tellStates(openvpn, [`${at},RECONNECTING,${signal},,,,,`]);
  openvpn.sendLines([HOLD_LINE[signal]]);
  try {
    await receivedSince(openvpn, restarting, "hold release");
    await receivedSince(openvpn, restarting, "status 3");
  } finally {
    openvpn.respond = respond;
  }
  const started = openvpn.received.length;
  const back = at + RESTART_SECONDS[signal];
  tellStates(openvpn, [
    `${back},ASSIGN_IP,,10.201.0.1,,,,`,
    `${back},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`,
  ]);
  await receivedSince(openvpn, started, "status 3");
}
