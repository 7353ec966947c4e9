/**
 * Loads the TOML configuration: parse, type checks against the schema (checker.ts), then
 * semantic resolution (resolve.ts). Every problem is collected, so one run of `check-config`
 * lists all of them, each with its key path and line.
 */
import { parse, TomlError } from "smol-toml";
import { Checker, fromVariable, type LoadDeps } from "./checker.ts";
import { errorText } from "../error_text.ts";
import { ConfigError, type ConfigIssue, WHOLE_FILE } from "./errors.ts";
import { KeyLines } from "./locate.ts";
import { resolveConfig } from "./resolve.ts";
import {
  CLIENT_CONFIG_SPEC,
  type ClientConfigValues,
  SCHEMA,
  type SectionSpec,
  SERVER_SPEC,
  type ServerValues,
  type Values,
} from "./schema.ts";
import { controlSocketProblem } from "../control/socket_path.ts";
import { Secret } from "../config/secret.ts";
import { formatDuration } from "../config/duration.ts";
import type { ResolvedConfig } from "../config/types.ts";

export type { LoadDeps };

/** The resolved config plus a printable copy (TOML names, secrets as `***`) for check-config. */
export interface LoadedConfig {
  config: ResolvedConfig;
  printable: Record<string, unknown>;
  /** Problems that do not stop the service: secrets other users can read, files they can change. */
  warnings: ConfigIssue[];
  /** Environment variables that set a key, each with that key (`http.listen`). */
  overrides: ReadonlyMap<string, string>;
}

export function loadConfigFile(path: string, deps: LoadDeps): LoadedConfig {
  return parseConfig(readConfigSource(path, deps), path, deps);
}

/**
 * `[control] socket` of the config file at `path` (from its environment variable, the file or
 * the default), checked by the service's rule, and nothing else of the config: the admin
 * commands need only the socket, and an operator must be able to end a session while another
 * key is half edited, or while a secret is set only in the service's environment.
 *
 * @throws {ConfigError} when the file cannot be read, is not TOML, or its socket is unusable
 */
export function loadControlSocket(path: string, deps: LoadDeps): string {
  const source = readConfigSource(path, deps);
  const document = parseToml(source, path);
  const lines = new KeyLines(source);
  const checker = new Checker(lines, deps);
  const control = checker.checkSection(document, "control");
  if (control === undefined || checker.issues.length > 0) {
    throw new ConfigError(path, checker.issues);
  }
  const problem = controlSocketProblem(control.socket);
  if (problem !== undefined) {
    const issue = { path: "control.socket", message: problem };
    throw new ConfigError(path, [located(issue, checker.fromEnv, lines)]);
  }
  return control.socket;
}

export function parseConfig(source: string, file: string, deps: LoadDeps): LoadedConfig {
  const document = parseToml(source, file);
  // Split and indexed once: a check locates every key it reads or reports (locate.ts).
  const lines = new KeyLines(source);
  const checker = new Checker(lines, deps);
  const values = checker.check(document);
  const servers = checker.checkServers(document["openvpn"]);
  const clientConfig = checker.checkClientConfig(document["client_config"]);
  // The rules between values need every value: after a misspelt key alone they can run, and
  // one run still lists every problem; after a value of the wrong type (or none) they wait.
  if (!checker.valuesChecked) throw new ConfigError(file, checker.issues);
  const resolved = resolveConfig(
    values,
    servers,
    clientConfig,
    checker.fromEnv,
    deps.readTextFile,
  );
  const issues = resolved.issues.map((issue) => located(issue, checker.fromEnv, lines));
  if (checker.issues.length > 0 || issues.length > 0) {
    throw new ConfigError(file, [...checker.issues, ...issues]);
  }
  checker.checkConfigFileMode(file);
  // Not a secret key of the schema (the listener reads it), but a private key all the same.
  if (values.http.tls_key_file !== undefined) {
    checker.checkPrivateFileMode("http.tls_key_file", values.http.tls_key_file);
  }
  // Public, so readable; but whoever can change the certificate can make it one that does not
  // match the key, and the next start fails (a reload keeps the old one): any local user
  // could take the sign-in pages down. Whoever can change the Redis or the IdP CA can make the
  // service trust a Redis server or an IdP of theirs.
  if (values.http.tls_cert_file !== undefined) {
    checker.checkTrustedFileMode("http.tls_cert_file", values.http.tls_cert_file);
  }
  const redisCa = resolved.config?.sessions.redis?.tlsCaFile;
  if (redisCa !== undefined) checker.checkTrustedFileMode("sessions.tls_ca_file", redisCa);
  const idpCa = values.oidc.tls_ca_file;
  if (idpCa !== undefined) checker.checkTrustedFileMode("oidc.tls_ca_file", idpCa);
  return {
    config: resolved.config!,
    printable: printable(values, servers, clientConfig),
    overrides: checker.overrides,
    warnings: [
      ...checker.warnings,
      ...(resolved.warnings ?? []).map((warning) => located(warning, checker.fromEnv, lines)),
    ],
  };
}

function printable(
  values: Values,
  servers: readonly ServerValues[],
  clientConfig: readonly ClientConfigValues[],
): Record<string, unknown> {
  const printServer = ({ authorization, client_config, inArray: _, ...keys }: ServerValues) => {
    const out = show(SERVER_SPEC, keys);
    if (authorization) out["authorization"] = show(SCHEMA.authorization, authorization);
    if (client_config) {
      out["client_config"] = client_config.map((entry) => show(CLIENT_CONFIG_SPEC, entry));
    }
    return out;
  };
  const out: Record<string, unknown> = {};
  out["openvpn"] = servers.length === 1 && !servers[0]!.inArray
    ? printServer(servers[0]!)
    : servers.map(printServer);
  for (const [section, spec] of Object.entries(SCHEMA)) {
    out[section] = show(spec, values[section as keyof Values]);
  }
  if (clientConfig.length > 0) {
    out["client_config"] = clientConfig.map((entry) => show(CLIENT_CONFIG_SPEC, entry));
  }
  return out;
}

function show(section: SectionSpec, checked: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(checked)) {
    if (value === undefined) continue;
    const type = section[key]?.type;
    out[key] = value instanceof Secret
      ? "***"
      : type === "duration"
      ? formatDuration(value as number)
      : value;
  }
  return out;
}

function readConfigSource(path: string, deps: LoadDeps): string {
  try {
    return deps.readTextFile(path);
  } catch (error) {
    throw new ConfigError(path, [{
      path: WHOLE_FILE,
      message: `Cannot read file: ${errorText(error)}`,
    }]);
  }
}

function parseToml(source: string, file: string): Record<string, unknown> {
  try {
    return parse(source) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const message = error.message.split("\n")[0] ?? "Invalid TOML";
      throw new ConfigError(file, [{ path: "(syntax)", message, line: error.line }]);
    }
    throw error;
  }
}

/**
 * A resolver's issue naming where its value came from: the environment variable that set it
 * (the file's line of its key then holds another value, or none), else the key's line.
 */
function located(
  issue: ConfigIssue,
  fromEnv: ReadonlyMap<string, string>,
  lines: KeyLines,
): ConfigIssue {
  const variable = envSource(fromEnv, issue.path);
  if (variable !== undefined) {
    return { path: issue.path, message: fromVariable(issue.message, variable) };
  }
  const line = issue.line ?? lineOf(lines, issue.path);
  return line === undefined ? issue : { ...issue, line };
}

/**
 * The environment variable that set the key of `path` (`http.listen`, or a part of one:
 * `oidc.authorize_params.prompt`, `http.trusted_proxies[1]`), if one did.
 */
function envSource(fromEnv: ReadonlyMap<string, string>, path: string): string | undefined {
  for (const [key, variable] of fromEnv) {
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) return variable;
  }
  return undefined;
}

/** The line of a resolved-config issue path such as `oidc.authorize_params.prompt`. */
function lineOf(lines: KeyLines, path: string): number | undefined {
  // The n-th block of an array of tables: [[client_config]], [[openvpn]] and the
  // [[openvpn.client_config]] of a single [openvpn] table (without the index, every block's
  // issue would point at the first one).
  const array = /^(client_config|openvpn)\[(\d+)\]\.([a-z_]+)$/.exec(path) ??
    /^((?:openvpn\.)?client_config)\[(\d+)\]\.([a-z_]+)/.exec(path);
  if (array) return lines.find(array[1]!, array[3], Number(array[2]));
  if (/^openvpn\[\d+\]\./.test(path)) return undefined;
  const parts = path.replace(/\[\d+\]/g, "").split(".");
  if (parts.length === 3) return lines.find(`${parts[0]}.${parts[1]}`, parts[2]);
  return lines.find(parts[0]!, parts[1]);
}
