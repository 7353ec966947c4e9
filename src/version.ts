/** The release version; `--version` prints it. Bumped by the release process. */
export const VERSION = "0.1.0";
