import { within } from "./within.ts";
import { parseConfig } from "../../src/config_loader/load.ts";
import { ConfigError, type ConfigIssue } from "../../src/config_loader/errors.ts";
import { assertThrows } from "./assert.ts";
import type { LoadedConfig } from "../../src/config_loader/load.ts";

/** The smallest valid `[http]` and `[oidc]` sections, for config tests to build on. */
export const HTTP_OIDC_TOML = `[http]
base_url = "https://vpn.example.com"
secret = "0123456789abcdef0123456789abcdef"

[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"
`;

/** A whole minimal config: one management socket and the sections above. */
export const MINIMAL_TOML = `
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"

${HTTP_OIDC_TOML}`;

/** MINIMAL_TOML with `lines` added to its `[section]` (the section added at the end when it has none). */
export function minimalTomlWith(section: string, lines: readonly string[]): string {
  const header = `[${section}]`;
  return MINIMAL_TOML.includes(`${header}\n`)
    ? MINIMAL_TOML.replace(`${header}\n`, () => `${header}\n${lines.join("\n")}\n`)
    : `${MINIMAL_TOML}\n${header}\n${lines.join("\n")}\n`;
}

/**
 * Loads a config given as text, as check-config would, with no environment overrides and no
 * files to read (a `*_file` key fails).
 *
 * @throws {ConfigError} for a config that check-config would refuse
 */
export function parseInlineToml(
  toml: string,
  file = "test.toml",
  env: Record<string, string> = {},
): LoadedConfig {
  return parseConfig(toml, file, {
    env,
    readTextFile: () => {
      throw new Error("no files");
    },
  });
}

/**
 * parseConfig() of `source` as "test.toml" with this environment, reading only `files` (any
 * other path: ENOENT).
 */
export function parseTestConfig(
  source: string,
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): LoadedConfig {
  return parseConfig(source, "test.toml", {
    env,
    readTextFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file "${path}"`);
      return text;
    },
  });
}

/** The issues parseTestConfig() refuses `source` with; fails when it is accepted. */
export function configIssuesOf(
  source: string,
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): ConfigIssue[] {
  const error = assertThrows(() => parseTestConfig(source, env, files), ConfigError);
  return error.issues.map((issue) => ({ ...issue }));
}

/** configIssuesOf(`source`) as `[path, message]` pairs, for tables of expected refusals. */
export function issuePairsOf(source: string): Array<[string, string]> {
  return configIssuesOf(source).map(({ path, message }) => [path, message]);
}

/**
 * The warnings (key and text) of loading `source` as parseTestConfig() does, in a worker that is
 * ended after `ms`: a load that takes longer fails the test instead of hanging it.
 */
export async function configWarningsWithin(
  ms: number,
  source: string,
): Promise<{ path: string; message: string }[]> {
  const worker = new Worker(new URL("./config_warnings_worker.ts", import.meta.url).href, {
    type: "module",
  });
  try {
    const answer = new Promise<{ path: string; message: string }[]>((resolve, reject) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    worker.postMessage(source);
    return await within(ms, "the config loaded", answer);
  } finally {
    worker.terminate();
  }
}
