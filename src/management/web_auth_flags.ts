/**
 * The flags of `WEB_AUTH:<flags>:<url>`, the `client-pending-auth` extra that hands a VPN client
 * its login URL. OpenVPN's doc/management-notes.txt defines three, separated by commas: `proxy`,
 * `hidden` and `external` ("Do not use an internal webview but use an external browser. Some
 * authentication providers refuse to work in an internal webview"). The bridge sends only
 * `external`; the other two are refused at config load with the reason below.
 *
 * A flag is one of these words and nothing else, so no `:` (which would end the flags early and
 * make the rest part of the URL) and no `,` (another flag) can reach the command.
 */

/** The flags the bridge sends when configured (`openvpn.web_auth_flags`). */
export const WEB_AUTH_FLAGS = ["external"] as const;

export type WebAuthFlag = (typeof WEB_AUTH_FLAGS)[number];

/** Flags management-notes.txt defines that the bridge does not send, and why. */
const REFUSED_FLAGS: Readonly<Record<string, string>> = {
  hidden:
    "a client that honours it keeps its webview hidden until the page sends the State API's " +
    "ACTION_REQUIRED (openvpn3 doc/webauth.md), which neither these pages nor an identity " +
    "provider's login form send: the user would never see the sign-in",
  proxy:
    "it is written proxy=<address>;<port>;<user>;<password> and names an HTTP proxy for each " +
    "client, which the bridge does not run",
};

function isWebAuthFlag(flag: string): flag is WebAuthFlag {
  return (WEB_AUTH_FLAGS as readonly string[]).includes(flag);
}

/** Why `flag` cannot be sent; undefined when it can. */
export function webAuthFlagProblem(flag: string): string | undefined {
  if (isWebAuthFlag(flag)) return undefined;
  const refused = REFUSED_FLAGS[flag];
  if (refused !== undefined) return `Not supported: ${refused}`;
  return `Unknown WEB_AUTH flag ${JSON.stringify(flag)}: OpenVPN defines external, hidden and ` +
    `proxy, of which the bridge sends ${WEB_AUTH_FLAGS.join(", ")}`;
}

/**
 * The problems of a flag list, by index: each flag must be one the bridge sends, and appear once.
 * Empty when the list can be sent.
 */
export function webAuthFlagsProblems(
  flags: readonly string[],
): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  flags.forEach((flag, index) => {
    const problem = webAuthFlagProblem(flag);
    if (problem !== undefined) problems.push({ index, message: problem });
    else if (flags.indexOf(flag) !== index) {
      problems.push({ index, message: `Listed twice: ${JSON.stringify(flag)}` });
    }
  });
  return problems;
}
