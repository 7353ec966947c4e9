/**
 * What a VPN client's own `IV_VER` tells the bridge about what it can do. Read from the version as
 * the client sent it: "2.6.14", "2.5.11", "3.git::58b92569" (OpenVPN Connect), "2.7_master"
 * (OpenVPN for Android's OpenVPN 2), "v3.10.1" (openvpn3-linux v23), "3.12_git:master" and
 * "3.git:HEAD:f3d0b1d6" (openvpn3 built from git). The client names its version itself, so
 * nothing here admits anyone: a lie changes only which help text it gets or how long its own
 * session is kept.
 */

/** The release an `IV_VER` names; a missing part is 0 ("2.7_master" is 2.7.0). */
interface ClientRelease {
  major: number;
  minor: number;
  patch: number;
}

const RELEASE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/;

/** The release `ivVer` names, or undefined when it does not start with a version number. */
function clientRelease(ivVer: string): ClientRelease | undefined {
  const match = RELEASE.exec(ivVer);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2] ?? 0), patch: Number(match[3] ?? 0) };
}

/** Whether `release` is `major.minor.patch` or later. */
function atLeast(release: ClientRelease, major: number, minor: number, patch: number): boolean {
  if (release.major !== major) return release.major > major;
  if (release.minor !== minor) return release.minor > minor;
  return release.patch >= patch;
}

/**
 * Whether a certificate-only client of this `IV_VER` presents the token OpenVPN issues it. This
 * bridge has OpenVPN issue it with a user name (`auth-token-user`, judge_client.ts), which clients
 * take from 2.5.3 on (OpenVPN's Changes.rst: "add --auth-token-user option (for --auth-token
 * deployments without --auth-user-pass in client config)"), and then present at renegotiations
 * and reconnects. Measured with 2.6.14 (no auth-user-pass, `setenv IV_SSO webauth`), the bridge
 * answering `client-auth` with that push:
 *   CONNECT,0,1  session_state=Initial                 password empty
 *   REAUTH,0,3   session_state=AuthenticatedEmptyUser  password = the token, same session_id
 *   (SIGUSR1) CONNECT,1,1  session_state=AuthenticatedEmptyUser, same session_id
 * and with 2.5.11: after 30 s asleep past keepalive (its session's DISCONNECT came first) it
 * reconnected on its token, accepted from the session with no browser. OpenVPN 3 clients present
 * it too. So their session is resumable from sign-in on: a DISCONNECT before the first
 * renegotiation must not end it. 2.4 and 2.5.0 to 2.5.2 cannot take the pushed user name: a
 * session kept for a client that cannot come back would linger until sessions.lifetime and
 * count against max_per_user. One that lies gains only that lingering session of its own user,
 * as resuming still takes a token whose HMAC OpenVPN checked.
 */
export function versionPresentsIssuedToken(ivVer: string): boolean {
  const release = clientRelease(ivVer);
  return release !== undefined && atLeast(release, 2, 5, 3);
}

/**
 * Whether a client of this `IV_VER` is too old to do browser sign-in whatever its config: OpenVPN
 * 2.4 sends no `IV_SSO` at all (its peer info passes on only `UV_*`, `IV_PLAT_VER` and
 * `IV_GUI_VER` of the variables set in its config, ssl.c `push_peer_info`), so telling its user to
 * add `setenv IV_SSO webauth` would be wrong. From 2.5 on that line works. An unknown or missing
 * `IV_VER` is not known to be old (every OpenVPN 2 client that pulls sends one).
 */
export function versionPredatesBrowserSignIn(ivVer: string): boolean {
  const release = clientRelease(ivVer);
  return release !== undefined && !atLeast(release, 2, 5, 0);
}
