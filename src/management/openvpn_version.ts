/**
 * The OpenVPN release a server names in its `version` reply, and the fixes the bridge relies on
 * that it lacks. The line names the upstream release only ("OpenVPN Version: OpenVPN 2.6.14
 * x86_64-pc-linux-gnu [SSL (OpenSSL)] ..." from 2.6.0 to 2.7.x; a pre-release says "2.7_rc6"),
 * never a distribution's patch level: a patched distribution build looks unpatched, so what this
 * finds is advice for `check-config --probe`, not a reason to refuse a server. The management
 * version (the `version` reply's other line) is exact: below MIN_MANAGEMENT_VERSION browser sign-in
 * cannot work at all.
 */

/**
 * The oldest management version with `client-pending-auth` (OpenVPN 2.5; 2.3 and 2.4 say 1): a
 * server below it cannot hold a client while its user signs in in the browser. The probe fails
 * such a server, and its link stops each new client with the reason (ClientEvents) rather than
 * deny it for an internal error, which a client with `auth-retry interact` retried for ever.
 */
export const MIN_MANAGEMENT_VERSION = 3;

/** The first management version whose `client-pending-auth` takes a timeout. */
export const PENDING_AUTH_TIMEOUT_VERSION = 4;
/** The first whose `client-pending-auth` takes the key id too: the command's current form. */
export const PENDING_AUTH_KEY_ID_VERSION = 5;

/** Why a server below MIN_MANAGEMENT_VERSION serves no browser sign-in, as the probe and log say. */
export const MANAGEMENT_TOO_OLD =
  `browser sign-in needs OpenVPN 2.5 or later (management version ${MIN_MANAGEMENT_VERSION}); ` +
  "2.6 recommended";

/** Whether a server of this management version can hold a client for browser sign-in. */
export function servesBrowserSignIn(managementVersion: number): boolean {
  return managementVersion >= MIN_MANAGEMENT_VERSION;
}

export interface OpenvpnVersion {
  major: number;
  minor: number;
  /** Undefined for a pre-release ("2.7_rc6"), which comes before x.y.0. */
  patch: number | undefined;
}

const VERSION_LINE = /^OpenVPN Version: OpenVPN (\d+)\.(\d+)(?:\.(\d+)|_\w+)?(?:\s|$)/;

/** The release `line` names, or undefined for a line of another shape. */
export function parseOpenvpnVersion(line: string): OpenvpnVersion | undefined {
  const match = VERSION_LINE.exec(line);
  if (match === null) return undefined;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: match[3] === undefined ? undefined : Number(match[3]),
  };
}

/** A fix in OpenVPN the bridge relies on: the first release of each line that has it. */
interface Fix {
  /** Release lines (major.minor) with the fix, and the first patch release of each. */
  fixedIn: Readonly<Record<string, number>>;
  /** What a server without it lets a client do to the bridge's answers. */
  risk: string;
}

const FIXES: readonly Fix[] = [
  {
    fixedIn: { "2.6": 11 },
    risk: "a client can ignore client-kill and keep its tunnel after its session ended " +
      "(a logout, sessions revoke, a failed re-check; CVE-2024-28882)",
  },
  {
    fixedIn: { "2.6": 21, "2.7": 5 },
    risk: "a client can choose its session_id with a token OpenVPN refuses (CVE-2026-13122; " +
      "the bridge refuses such a sign-in that would replace another user's session)",
  },
];

/**
 * The risks of the fixes `version` lacks, in release order. A release line a fix names has it
 * from that patch release on; one it does not name has it when it is newer than every line it
 * names (2.7.0 came with 2.6.11's fix; 2.8 has them all).
 */
export function missingFixes(version: OpenvpnVersion): string[] {
  const line = `${version.major}.${version.minor}`;
  return FIXES.filter((fix) => {
    const first = fix.fixedIn[line];
    if (first === undefined) {
      return Object.keys(fix.fixedIn).every((named) => lineOrder(line) < lineOrder(named));
    }
    return version.patch === undefined || version.patch < first;
  }).map((fix) => fix.risk);
}

/** A release line ("2.6") as a number that orders lines: 2006. */
function lineOrder(line: string): number {
  const [major = 0, minor = 0] = line.split(".").map(Number);
  return major * 1000 + minor;
}
