/**
 * Type checks of the parsed TOML against SCHEMA: unknown keys (with a suggestion), required
 * keys, defaults, `*_file` secrets and environment overrides. Problems are collected, not
 * thrown, so one run reports all of them. Secrets other local users can read, and files they
 * can change, are warnings, not problems: installs made before the check (and files written
 * with the default umask) would otherwise stop at an upgrade.
 */
import { parse } from "smol-toml";
import { type ConfigIssue, WHOLE_FILE } from "./errors.ts";
import { readEnvList } from "./env_list.ts";
import type { KeyLines } from "./locate.ts";
import {
  acceptedKeys,
  CLIENT_CONFIG_SPEC,
  type ClientConfigValues,
  envName,
  type KeySpec,
  SCHEMA,
  type SectionSpec,
  SERVER_SPEC,
  SERVER_TABLES,
  type ServerValues,
  type Values,
} from "./schema.ts";
import { Secret } from "../config/secret.ts";
import { suggest } from "./suggest.ts";
import { durationRangeText, parseDuration } from "../config/duration.ts";
import { errorText } from "../error_text.ts";

export interface LoadDeps {
  readTextFile(path: string): string;
  env: Record<string, string | undefined>;
  /**
   * A file's mode as `stat` gives it, to warn about secrets other users can read. Unset: no
   * permission checks (configs and secret files held in memory).
   */
  fileMode?: ((path: string) => number) | undefined;
}

/** A checked value: what the schema type says, durations already in milliseconds. */
type Value =
  | string
  | number
  | boolean
  | readonly string[]
  | Readonly<Record<string, unknown>>
  | Secret;

/** One table's checked values by key, after type checks and defaults. */
type Checked = Record<string, Value>;

/**
 * Where a value came from: a line of the file, or an environment variable. A value from the
 * environment has no line (the file's line of that key holds another value, or none).
 */
interface Origin {
  line?: number | undefined;
  variable?: string | undefined;
}

/** What every variable of ours starts with: `envName` (schema.ts) builds the key ones. */
const ENV_PREFIX = "OPENVPN_AUTH_OIDC_";

/**
 * Variables with our prefix that name no config key, and are therefore not refused as unknown.
 * Every such variable the code reads must be listed here, or a service given it would not start.
 */
const NON_KEY_VARIABLES: readonly string[] = [
  // The config file's path (cli.ts): read before any config exists.
  "OPENVPN_AUTH_OIDC_CONFIG",
];

/** An issue's message naming the environment variable its value came from. */
export function fromVariable(message: string, variable: string): string {
  return `${message} (from ${variable})`;
}

/** Where a table sits, for key paths, line numbers and environment overrides. */
interface TableAt {
  /** Key path prefix, e.g. `oidc`, `client_config[1]` or `openvpn[0].authorization`. */
  path: string;
  /** The `[section]` header to look for when locating a line; undefined: do not locate. */
  header: string | undefined;
  /** The n-th `[[header]]` block, for arrays of tables. */
  arrayIndex?: number | undefined;
  /** The section whose environment variables override keys here, if any. */
  envSection?: string | undefined;
  /** Sub-tables this table may hold, beside its keys. */
  tables?: readonly string[];
}

export class Checker {
  readonly issues: ConfigIssue[] = [];
  /**
   * Secrets other local users can read, files they can change: the service still starts (see
   * the file comment).
   */
  readonly warnings: ConfigIssue[] = [];
  /** Key paths of secrets written into the config file itself, e.g. `http.secret`. */
  readonly #inlineSecrets: string[] = [];
  /**
   * Key paths whose checked value came from an environment variable (the value's or, for a
   * secret, its `_file`'s), with the variable: the resolver's issues about them name it too.
   */
  readonly fromEnv = new Map<string, string>();
  /**
   * Each variable that set a value, with the key it set as written in the file
   * (`http.secret_file` for OPENVPN_AUTH_OIDC_HTTP_SECRET_FILE): a reload names them, since it
   * reads the environment of the start (cli.ts).
   */
  readonly overrides = new Map<string, string>();
  /** The config file's lines, to locate keys in. */
  readonly #lines: KeyLines;
  readonly #deps: LoadDeps;
  /** Whether an issue left a key without a checked value (see valuesChecked). */
  #valueMissing = false;

  constructor(lines: KeyLines, deps: LoadDeps) {
    this.#lines = lines;
    this.#deps = deps;
  }

  /**
   * Whether every key has its checked value, as the `Values` type states: no issue was
   * recorded, or only issues about names (unknown keys and variables), which leave the values
   * whole. The resolver's rules need that to run.
   */
  get valuesChecked(): boolean {
    return !this.#valueMissing;
  }

  /** The sections' values. Only meaningful while valuesChecked. */
  check(document: Record<string, unknown>): Values {
    this.#checkEnvNames(Array.isArray(document["openvpn"]));
    const known = [...Object.keys(SCHEMA), "openvpn", "client_config"];
    for (const name of Object.keys(document)) {
      if (!known.includes(name)) {
        this.#unknown(name, name, known, this.#lines.find(name, undefined));
      }
    }
    const values: Record<string, unknown> = {};
    for (const section of Object.keys(SCHEMA) as Array<keyof Values>) {
      const checked = this.checkSection(document, section);
      if (checked !== undefined) values[section] = checked;
    }
    return values as unknown as Values;
  }

  /**
   * One `[section]` of SCHEMA: its keys' values from the environment, the file or the
   * defaults; undefined when the section is not a table (an issue says so). Like check(), only
   * meaningful while valuesChecked.
   */
  checkSection<S extends keyof Values>(
    document: Record<string, unknown>,
    section: S,
  ): Values[S] | undefined {
    const raw = document[section] ?? {};
    if (!isTable(raw)) {
      this.#issue(section, `Expected a table ([${section}]), got ${typeName(raw)}`);
      return undefined;
    }
    const checked = this.#checkTable(SCHEMA[section], raw, {
      path: section,
      header: section,
      envSection: section,
    });
    return checked as unknown as Values[S];
  }

  /**
   * Warns when other users can change `file`, the config (whoever can would empty
   * [authorization], add bypass_common_names or point a `*_file` at a file of theirs), and
   * when they can read it while it holds a secret inline.
   */
  checkConfigFileMode(file: string): void {
    const access = this.#openToOthers(file);
    if (access === undefined) return;
    const keys = this.#inlineSecrets;
    if (access.read && keys.length > 0) {
      this.warnings.push({
        path: WHOLE_FILE,
        message: `Holds ${keys.join(", ")} and can be read by other users (mode ${access.mode}): ` +
          `run chmod o-r ${file}, or move ${keys.length === 1 ? "it" : "each"} to ` +
          keys.map((key) => `${key}_file`).join(", "),
      });
    }
    if (access.write) {
      this.warnings.push({
        path: WHOLE_FILE,
        message: `Can be changed by other users (mode ${access.mode}), who could rewrite the ` +
          `access rules: run chmod o-w ${file}`,
      });
    }
  }

  /** Warns when other users can read or change `file`, a private key named by `path`. */
  checkPrivateFileMode(path: string, file: string): void {
    this.#checkFileMode(path, file, { secret: true, where: undefined });
  }

  /**
   * Warns when other users can change `file`, named by `path`: public, but trusted for what it
   * says (a certificate, a CA).
   */
  checkTrustedFileMode(path: string, file: string): void {
    this.#checkFileMode(path, file, { secret: false, where: undefined });
  }

  /** `[[client_config]]` at the top level, or inside a server (`path` then says which). */
  checkClientConfig(raw: unknown, path = "client_config"): ClientConfigValues[] {
    if (raw === undefined) return [];
    const topLevel = path === "client_config";
    if (!Array.isArray(raw)) {
      this.#issue(path, `Expected an array of tables ([[${path}]]), got ${typeName(raw)}`);
      return [];
    }
    return raw.map((entry, index) => {
      const at = `${path}[${index}]`;
      if (!isTable(entry)) {
        this.#issue(at, `Expected a table, got ${typeName(entry)}`);
        return {} as ClientConfigValues;
      }
      const checked = this.#checkTable(CLIENT_CONFIG_SPEC, entry, {
        path: at,
        // The blocks of a single [openvpn] table are [[openvpn.client_config]]: locatable.
        header: topLevel || path === "openvpn.client_config" ? path : undefined,
        arrayIndex: index,
      });
      return checked as unknown as ClientConfigValues;
    });
  }

  /**
   * The OpenVPN servers: one `[openvpn]` table (environment overrides apply to it), or an
   * array of `[[openvpn]]` tables, each with its own optional policy tables.
   */
  checkServers(raw: unknown): ServerValues[] {
    if (raw === undefined || isTable(raw)) {
      return [this.#checkServer(raw ?? {}, { path: "openvpn", envSection: "openvpn" })];
    }
    if (!Array.isArray(raw) || raw.length === 0) {
      this.#issue(
        "openvpn",
        `Expected a table ([openvpn]) or tables ([[openvpn]]), got ${typeName(raw)}`,
      );
      return [];
    }
    return raw.flatMap((entry, index) => {
      const path = `openvpn[${index}]`;
      if (!isTable(entry)) {
        this.#issue(path, `Expected a table, got ${typeName(entry)}`);
        return [];
      }
      return [this.#checkServer(entry, { path, arrayIndex: index })];
    });
  }

  /**
   * Variables with our prefix that set no key: a misspelt one would otherwise be ignored
   * silently, and so would the `[openvpn]` ones beside `[[openvpn]]` tables (`servers`).
   */
  #checkEnvNames(servers: boolean): void {
    const keyNames = new Set<string>();
    for (const [section, spec] of Object.entries(SCHEMA)) {
      for (const key of acceptedKeys(spec)) keyNames.add(envName(section, key));
    }
    const serverNames = new Set(acceptedKeys(SERVER_SPEC).map((key) => envName("openvpn", key)));
    const known = [...keyNames, ...serverNames];
    for (const name of Object.keys(this.#deps.env).sort()) {
      if (!name.startsWith(ENV_PREFIX) || this.#deps.env[name] === undefined) continue;
      if (keyNames.has(name) || NON_KEY_VARIABLES.includes(name)) continue;
      if (serverNames.has(name)) {
        if (servers) {
          this.#nameIssue(
            name,
            "Does not apply to [[openvpn]] tables (only to a single [openvpn] table): set " +
              `${name.slice(envName("openvpn", "").length).toLowerCase()} in each [[openvpn]] ` +
              "table instead",
          );
        }
        continue;
      }
      // suggest() compares lower case: the names' tails, as keys are compared.
      const close = suggest(
        name.slice(ENV_PREFIX.length),
        known.map((candidate) => candidate.slice(ENV_PREFIX.length).toLowerCase()),
      );
      this.#nameIssue(
        name,
        close
          ? `Unknown environment variable (did you mean "${ENV_PREFIX}${close.toUpperCase()}"?)`
          : "Unknown environment variable: it sets no key",
      );
    }
  }

  #checkServer(
    raw: Record<string, unknown>,
    at: { path: string; arrayIndex?: number; envSection?: string },
  ): ServerValues {
    const inArray = at.arrayIndex !== undefined;
    const checked = this.#checkTable(SERVER_SPEC, raw, {
      ...at,
      header: "openvpn",
      tables: SERVER_TABLES,
    });
    if (inArray && raw["name"] === undefined) {
      this.#issue(
        `${at.path}.name`,
        "Missing required key: each [[openvpn]] server needs a name",
        this.#lines.find("openvpn", undefined, at.arrayIndex),
      );
    }
    let authorization: Values["authorization"] | undefined;
    const rawAuthorization = raw["authorization"];
    if (rawAuthorization !== undefined) {
      const path = `${at.path}.authorization`;
      if (isTable(rawAuthorization)) {
        authorization = this.#checkTable(SCHEMA.authorization, rawAuthorization, {
          path,
          header: inArray ? undefined : "openvpn.authorization",
        }) as unknown as Values["authorization"];
      } else {
        this.#issue(path, `Expected a table, got ${typeName(rawAuthorization)}`);
      }
    }
    const clientConfig = raw["client_config"] === undefined
      ? undefined
      : this.checkClientConfig(raw["client_config"], `${at.path}.client_config`);
    return {
      ...checked,
      authorization,
      client_config: clientConfig,
      inArray,
    } as unknown as ServerValues;
  }

  #checkTable(spec: SectionSpec, raw: Record<string, unknown>, at: TableAt): Checked {
    const accepted = [...acceptedKeys(spec), ...(at.tables ?? [])];
    const locate = (key: string | undefined) =>
      at.header === undefined ? undefined : this.#lines.find(at.header, key, at.arrayIndex);
    for (const key of Object.keys(raw)) {
      if (!accepted.includes(key)) this.#unknown(`${at.path}.${key}`, key, accepted, locate(key));
    }
    const out: Checked = {};
    for (const [key, keySpec] of Object.entries(spec)) {
      const path = `${at.path}.${key}`;
      const line = (name = key) => locate(name);
      let value = raw[key];
      // Counted even when the environment overrides it: the file still holds it.
      if (keySpec.type === "secret" && value !== undefined) this.#inlineSecrets.push(path);
      let fileValue = keySpec.type === "secret" ? raw[`${key}_file`] : undefined;
      let valueFromEnv = false;
      let fileFromEnv = false;
      if (at.envSection !== undefined) {
        const fromEnv = this.#fromEnv(at.envSection, key, keySpec);
        if (fromEnv !== undefined) [value, valueFromEnv] = [fromEnv, true];
        const fileInEnv = keySpec.type === "secret"
          ? this.#deps.env[envName(at.envSection, `${key}_file`)]
          : undefined;
        if (fileInEnv !== undefined) [fileValue, fileFromEnv] = [fileInEnv, true];
      }
      const variable = (name = key) => envName(at.envSection!, name);
      if (keySpec.type === "secret" && value !== undefined && fileValue !== undefined) {
        // The environment overrides the file, a secret there its `_file` here too (the example
        // config names http.secret_file); both in one place is a conflict.
        if (valueFromEnv && !fileFromEnv) fileValue = undefined;
        else if (fileFromEnv && !valueFromEnv) value = undefined;
        else if (valueFromEnv) {
          this.#issue(
            path,
            `Conflicting keys: set either ${variable()} or ${variable(`${key}_file`)}, not both`,
          );
          continue;
        } else {
          this.#issue(path, `Conflicting keys: set either ${key} or ${key}_file, not both`, line());
          continue;
        }
      }
      if (fileValue !== undefined) {
        const origin: Origin = fileFromEnv
          ? { variable: variable(`${key}_file`) }
          : { line: line(`${key}_file`) };
        if (origin.variable !== undefined) this.#setFromEnv(path, `${path}_file`, origin.variable);
        const secret = this.#readSecretFile(`${path}_file`, fileValue, origin);
        if (secret !== undefined) out[key] = secret;
        continue;
      }
      if (value === undefined) {
        if (keySpec.required) {
          this.#issue(
            path,
            "Missing required key",
            at.arrayIndex === undefined ? undefined : locate(undefined),
          );
        } else if (keySpec.default !== undefined) {
          const checked = this.#checkValue(path, keySpec, keySpec.default, {});
          if (checked !== undefined) out[key] = checked;
        }
        continue;
      }
      const origin: Origin = valueFromEnv ? { variable: variable() } : { line: line() };
      if (origin.variable !== undefined) this.#setFromEnv(path, path, origin.variable);
      const checked = this.#checkValue(path, keySpec, value, origin);
      if (checked !== undefined) out[key] = checked;
    }
    return out;
  }

  /** `path`'s value came from `variable`, which sets `key` (`path` or its `_file`). */
  #setFromEnv(path: string, key: string, variable: string): void {
    this.fromEnv.set(path, variable);
    this.overrides.set(variable, key);
  }

  #fromEnv(section: string, key: string, spec: KeySpec): unknown {
    const text = this.#deps.env[envName(section, key)];
    if (text === undefined) return undefined;
    switch (spec.type) {
      case "bool":
        return text === "true" ? true : text === "false" ? false : text;
      case "int":
        return /^-?\d+$/.test(text) ? Number(text) : text;
      case "strings": {
        const list = readEnvList(section, key, envName(section, key), text);
        if ("toml" in list) return this.#parseEnvToml(section, key, list.toml, true);
        if ("items" in list) return list.items;
        this.#issue(`${section}.${key}`, list.problem);
        return undefined;
      }
      case "table":
        return this.#parseEnvToml(section, key, text, false);
      default:
        return text;
    }
  }

  /** A list or table variable's TOML value; one that is not exactly one value is refused. */
  #parseEnvToml(section: string, key: string, text: string, list: boolean): unknown {
    try {
      const document = parse(`value = ${text}`);
      // A newline in the variable would let it set keys beside "value", which would be lost.
      if (Object.keys(document).length === 1) return document["value"];
    } catch {
      // Not TOML: refused below, as is a value followed by other keys.
    }
    const example = list
      ? 'a TOML array, e.g. ["a", "b"]'
      : 'a TOML table, e.g. { name = "value" }';
    this.#issue(
      `${section}.${key}`,
      `Environment variable ${envName(section, key)} is not ${example}`,
    );
    return undefined;
  }

  #readSecretFile(path: string, file: unknown, line: Origin): Secret | undefined {
    if (typeof file !== "string") {
      this.#issue(path, `Expected a file path, got ${typeName(file)}`, line);
      return undefined;
    }
    const problem = pathProblem(file);
    if (problem !== undefined) {
      this.#issue(path, problem, line);
      return undefined;
    }
    try {
      const text = this.#deps.readTextFile(file).replace(/\r?\n$/, "");
      if (text === "") {
        this.#issue(path, `File ${file} is empty`, line);
        return undefined;
      }
      this.#checkFileMode(path, file, { secret: true, where: line });
      return new Secret(text);
    } catch (error) {
      this.#issue(path, `Cannot read ${file}: ${errorText(error)}`, line);
      return undefined;
    }
  }

  /**
   * Warns at `path` when users outside the owner and group can change `file` or, for a
   * `secret` one, read it. The group is left alone: the package gives it read access (root,
   * group openvpn-auth-oidc, 0640), and a group of its own writing is a choice, not a slip.
   */
  #checkFileMode(
    path: string,
    file: string,
    { secret, where }: { secret: boolean; where: Origin | undefined },
  ): void {
    const access = this.#openToOthers(file);
    if (access === undefined) return;
    const read = secret && access.read;
    if (!read && !access.write) return;
    const can = read && access.write ? "read and changed" : read ? "read" : "changed";
    const bits = `${read ? "r" : ""}${access.write ? "w" : ""}`;
    this.#warn(
      path,
      `File ${file} can be ${can} by other users (mode ${access.mode}): run chmod o-${bits} ${file}`,
      where,
    );
  }

  /**
   * What users outside the owner and group may do with `file`, when anything, and its
   * permission bits in octal (`0644`).
   */
  #openToOthers(file: string): { mode: string; read: boolean; write: boolean } | undefined {
    if (this.#deps.fileMode === undefined) return undefined;
    let mode: number;
    try {
      mode = this.#deps.fileMode(file);
    } catch {
      // Read a moment ago: a file gone now is a race, and a warning is no place to report it.
      return undefined;
    }
    const read = (mode & 0o004) !== 0;
    const write = (mode & 0o002) !== 0;
    if (!read && !write) return undefined;
    return { mode: (mode & 0o777).toString(8).padStart(4, "0"), read, write };
  }

  #checkValue(
    path: string,
    spec: KeySpec,
    value: unknown,
    line: Origin,
  ): Value | undefined {
    const wrong = (expected: string) => {
      this.#issue(path, `Expected ${expected}, got ${typeName(value)}`, line);
      return undefined;
    };
    switch (spec.type) {
      case "string":
        if (typeof value !== "string") return wrong("a string");
        if (spec.oneOf && !spec.oneOf.includes(value)) {
          this.#issue(
            path,
            `Expected one of ${spec.oneOf.map((v) => `"${v}"`).join(", ")}, got "${value}"`,
            line,
          );
          return undefined;
        }
        if (spec.path) {
          const problem = pathProblem(value);
          if (problem !== undefined) {
            this.#issue(path, problem, line);
            return undefined;
          }
        }
        return value;
      case "secret":
        // Never echo a secret's value, even a wrongly typed one.
        if (typeof value !== "string") {
          this.#issue(path, "Expected a string", line);
          return undefined;
        }
        if (value === "") {
          this.#issue(path, "Must not be empty", line);
          return undefined;
        }
        return new Secret(value);
      case "bool":
        return typeof value === "boolean" ? value : wrong("true or false");
      case "int": {
        if (typeof value !== "number" || !Number.isSafeInteger(value)) return wrong("an integer");
        if (
          (spec.min !== undefined && value < spec.min) ||
          (spec.max !== undefined && value > spec.max)
        ) {
          this.#issue(
            path,
            `Expected an integer from ${spec.min} to ${spec.max}, got ${value}`,
            line,
          );
          return undefined;
        }
        return value;
      }
      case "duration": {
        if (typeof value !== "string") {
          return wrong('a duration string such as "90s", "3m" or "12h"');
        }
        const ms = parseDuration(value);
        if (ms === undefined) {
          this.#issue(
            path,
            `Expected a duration such as "90s", "3m" or "12h", got "${value}"`,
            line,
          );
          return undefined;
        }
        if (
          (spec.min !== undefined && ms < spec.min) || (spec.max !== undefined && ms > spec.max)
        ) {
          this.#issue(path, `Expected ${durationRangeText(spec)}, got "${value}"`, line);
          return undefined;
        }
        if (spec.wholeSeconds && ms % 1000 !== 0) {
          this.#issue(path, `Expected whole seconds, got "${value}"`, line);
          return undefined;
        }
        return ms;
      }
      case "strings":
        if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
          return wrong("an array of strings");
        }
        return value as string[];
      case "table":
        return isTable(value) ? value : wrong("a table");
    }
  }

  #unknown(path: string, key: string, known: readonly string[], line: number | undefined): void {
    // A quoted empty name (`"" = 1`) leaves the path no last part to show.
    if (key === "") return this.#nameIssue(path, 'Unknown key "" (an empty name)', line);
    const close = suggest(key, known);
    this.#nameIssue(path, close ? `Unknown key (did you mean "${close}"?)` : "Unknown key", line);
  }

  /** A problem with a value: its key is left without one (valuesChecked). */
  #issue(path: string, message: string, where?: number | Origin): void {
    this.#valueMissing = true;
    this.issues.push(issueAt(path, message, where));
  }

  /** A problem with a name (a key, a variable) that sets no value: the values stay whole. */
  #nameIssue(path: string, message: string, where?: number | Origin): void {
    this.issues.push(issueAt(path, message, where));
  }

  #warn(path: string, message: string, where: number | Origin | undefined): void {
    this.warnings.push(issueAt(path, message, where));
  }
}

/** An issue located by a line, or naming the environment variable its value came from. */
function issueAt(path: string, message: string, where: number | Origin | undefined): ConfigIssue {
  const origin: Origin = typeof where === "number" ? { line: where } : where ?? {};
  if (origin.variable !== undefined) {
    return { path, message: fromVariable(message, origin.variable) };
  }
  return origin.line === undefined ? { path, message } : { path, message, line: origin.line };
}

/** Why `value`, a path key's (KeySpec.path) or a `*_file` secret's, is no usable path. */
function pathProblem(value: string): string | undefined {
  return value === "" ? "Must not be empty" : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null || value === undefined) return "nothing";
  if (value instanceof Date) return "a date";
  if (typeof value === "object") return "a table";
  if (typeof value === "string") {
    return `a string ("${value.length > 40 ? value.slice(0, 40) + "..." : value}")`;
  }
  return `a ${typeof value} (${String(value)})`;
}
