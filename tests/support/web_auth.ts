/**
 * Reads a `WEB_AUTH:<flags>:<url>` extra (`client-pending-auth`'s, or a client's
 * `>INFOMSG:` text) as clients do: openvpn-gui (OnInfoMsg) and openvpn3-linux (core-client) take
 * the flags up to the first `:` after `WEB_AUTH:` and the rest as the URL, so a URL's own `:`
 * (`https:`, a port) stays in the URL, and `WEB_AUTH::<url>` has no flags.
 */
export interface WebAuth {
  flags: string[];
  url: string;
}

/** The flags and URL of `extra`; undefined when it is no `WEB_AUTH:` message with both parts. */
export function parseWebAuth(extra: string): WebAuth | undefined {
  const match = /^WEB_AUTH:([^:]*):(.+)$/.exec(extra);
  if (!match) return undefined;
  return { flags: match[1] === "" ? [] : match[1]!.split(","), url: match[2]! };
}

/** The login URL in a `client-pending-auth` command line (its quoted extra, escape-free). */
export function pendingAuthUrl(line: string): string {
  const extra = /"(WEB_AUTH:[^"]*)"/.exec(line)?.[1];
  const parsed = extra === undefined ? undefined : parseWebAuth(extra);
  if (!parsed) throw new Error(`No WEB_AUTH URL in: ${line}`);
  return parsed.url;
}
