/** One problem found in the configuration, tied to its key path and, when known, its line. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `oidc.client_id` or `client_config[1].lines[0]`. */
  path: string;
  message: string;
  /** 1-based line in the config file, when it could be located. */
  line?: number | undefined;
}

/** Raised when the configuration cannot be used; the service never starts with one. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  readonly file: string;

  constructor(file: string, issues: ConfigIssue[]) {
    const shown = issues.map((issue) => ({ ...issue, message: withoutUserinfo(issue.message) }));
    super(
      `Invalid configuration in ${file}:\n` +
        shown.map((issue) => `  - ${formatIssue(issue)}`).join("\n"),
    );
    this.name = "ConfigError";
    this.file = file;
    this.issues = shown;
  }
}

function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.path : `${issue.path} (line ${issue.line})`;
  return `${where}: ${issue.message}`;
}

/**
 * Messages quote the value they refuse, and a URL's user name and password (`https://u:pw@idp`,
 * a Redis URL) are secrets there: printed by check-config, logged by a refused reload. Every
 * `scheme://userinfo@` in a message reads `scheme://***@`, whichever check wrote it.
 */
export function withoutUserinfo(message: string): string {
  // Up to the last "@" of the word: a password may hold "/" (base64) or another "@".
  return message.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s"]*@/gi, "$1***@");
}
