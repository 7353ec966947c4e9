/**
 * What the confirm page may repeat of the VPN client's own report (`IV_PLAT`, `IV_VER`). The
 * client chooses these freely (OpenVPN only turns spaces into `_`), and the page puts them in
 * the one sentence that tells the user whose connection they are about to allow: "for
 * certificate X from 192.0.2.7, Verified_by_IT:_your_own_laptop" must not be possible. Only a
 * known platform and a version-shaped text are shown; anything else is left out.
 */

/** The platforms OpenVPN 2 and OpenVPN 3 clients (Connect included) report. */
const PLATFORMS = new Set([
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
]);

/** "2.6.14", "3.git::d3f8b18b", "3.10": starts with a digit, no words of a sentence. */
const VERSION = /^[0-9][0-9A-Za-z.:+_-]{0,39}$/;

export function shownPlatform(reported: string | undefined): string {
  return reported !== undefined && PLATFORMS.has(reported) ? reported : "";
}

export function shownClientVersion(reported: string | undefined): string {
  return reported !== undefined && VERSION.test(reported) ? reported : "";
}
