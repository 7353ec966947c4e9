/**
 * What the confirm page may repeat of the VPN client's own report (`IV_PLAT`, `IV_VER`). The
 * client chooses these freely (OpenVPN only turns spaces into `_`), and the page puts them in
 * the one sentence that tells the user whose connection they are about to allow: "for
 * certificate X from 192.0.2.7, Verified_by_IT:_your_own_laptop" must not be possible. Only a
 * known platform and a version-shaped text are shown; anything else is left out.
 */

/**
 * The platforms OpenVPN 2 and OpenVPN 3 clients (Connect included) report, each mapped to its
 * own literal: what is kept is never a slice of the management chunk the CONNECT came in.
 */
const PLATFORMS = new Map(
  [
    "linux",
    "win",
    "mac",
    "ios",
    "android",
    "chromeos",
    "freebsd",
    "openbsd",
    "netbsd",
    "dragonfly",
    "solaris",
    "aix",
  ].map((platform) => [platform, platform]),
);

/**
 * A version number, with at most one build or release tag: "2.6.14", "2.7_rc1", "3.git::d3f8b18b",
 * "2.6.14-deadbeef". No words: "2_Verified_by_IT" is not one.
 */
const VERSION =
  /^\d{1,4}(\.\d{1,4}){0,3}(([._-]|\.git::)(rc|beta|alpha|dev|git|[0-9a-f]{6,40})\d{0,4})?$/;

export function shownPlatform(reported: string | undefined): string {
  return (reported === undefined ? undefined : PLATFORMS.get(reported)) ?? "";
}

export function shownClientVersion(reported: string | undefined): string {
  return reported !== undefined && VERSION.test(reported) ? reported : "";
}
