import { SCHEME_WITHOUT_SLASHES } from "../log_mask.ts";

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
  const where = placeOf(issue);
  return where === undefined ? issue.message : `${where}: ${issue.message}`;
}

/** The path of an issue about the file itself (who may read or change it), not one of its keys. */
export const WHOLE_FILE = "(file)";

/**
 * Where in the file `issue` is, as its line says it: its key path, with the line when located;
 * undefined for one about the file itself, whose line names the file alone (`x.toml: (file):`
 * read as a key of that name).
 */
export function placeOf(issue: ConfigIssue): string | undefined {
  if (issue.path === WHOLE_FILE) return undefined;
  return issue.line === undefined ? issue.path : `${issue.path} (line ${issue.line})`;
}

/**
 * Where user info begins in a message: after `scheme://` (any scheme), or after a scheme whose
 * `//` a reader does not need (log_mask's SCHEME_WITHOUT_SLASHES: `https:u:pw@idp`,
 * `redis:u:pw@db`), as a whole word. Up to the last "@" of the word: a password may hold "/"
 * (base64) or another "@".
 */
const USER_INFO = new RegExp(
  String.raw`(?<![A-Za-z0-9+.-])((?:[a-z][a-z0-9+.-]*:\/\/|${SCHEME_WITHOUT_SLASHES}))[^\s"]*@`,
  "gi",
);

/**
 * Messages quote the value they refuse, and a URL's user name and password (`https://u:pw@idp`,
 * a Redis URL) are secrets there: printed by check-config, logged by a refused reload. Every
 * user info of a URL in a message (USER_INFO) reads `***`, whichever check wrote it.
 */
export function withoutUserinfo(message: string): string {
  return message.replace(USER_INFO, "$1***@");
}
