/**
 * Loads the TOML configuration: parse, environment overrides, `*_file` secrets, type checks
 * against SCHEMA, then semantic resolution. Every problem is collected, so one run of
 * `check-config` lists all of them, each with its key path and line.
 */
import { parse, TomlError } from "smol-toml";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { locateKey } from "./locate.ts";
import { resolveConfig } from "./resolve.ts";
import {
  acceptedKeys,
  CLIENT_CONFIG_SPEC,
  type ClientConfigValues,
  envName,
  type KeySpec,
  SCHEMA,
  type SectionSpec,
  type Values,
} from "./schema.ts";
import { Secret } from "../config/secret.ts";
import { suggest } from "./suggest.ts";
import { formatDuration, parseDuration } from "../config/duration.ts";
import type { ResolvedConfig } from "../config/types.ts";

export interface LoadDeps {
  readTextFile(path: string): string;
  env: Record<string, string | undefined>;
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

/** The resolved config plus a printable copy (TOML names, secrets as `***`) for check-config. */
export interface LoadedConfig {
  config: ResolvedConfig;
  printable: Record<string, unknown>;
}

export function loadConfigFile(path: string, deps: LoadDeps): LoadedConfig {
  let source: string;
  try {
    source = deps.readTextFile(path);
  } catch (error) {
    throw new ConfigError(path, [{
      path: "(file)",
      message: `Cannot read file: ${reason(error)}`,
    }]);
  }
  return parseConfig(source, path, deps);
}

export function parseConfig(source: string, file: string, deps: LoadDeps): LoadedConfig {
  let document: Record<string, unknown>;
  try {
    document = parse(source) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const message = error.message.split("\n")[0] ?? "Invalid TOML";
      throw new ConfigError(file, [{ path: "(syntax)", message, line: error.line }]);
    }
    throw error;
  }
  const checker = new Checker(source, deps);
  const values = checker.check(document);
  const clientConfig = checker.checkClientConfig(document["client_config"]);
  if (checker.issues.length > 0) throw new ConfigError(file, checker.issues);
  const resolved = resolveConfig(values, clientConfig);
  const issues = resolved.issues.map((issue) => {
    const line = issue.line ?? lineOf(source, issue.path);
    return line === undefined ? issue : { ...issue, line };
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  return { config: resolved.config!, printable: printable(values, clientConfig) };
}

function printable(
  values: Values,
  clientConfig: readonly ClientConfigValues[],
): Record<string, unknown> {
  const show = (section: SectionSpec, checked: object) => {
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
  };
  const out: Record<string, unknown> = {};
  for (const [section, spec] of Object.entries(SCHEMA)) {
    out[section] = show(spec, values[section as keyof Values]);
  }
  if (clientConfig.length > 0) {
    out["client_config"] = clientConfig.map((entry) => show(CLIENT_CONFIG_SPEC, entry));
  }
  return out;
}

/** The line of a resolved-config issue path such as `oidc.authorize_params.prompt`. */
function lineOf(source: string, path: string): number | undefined {
  const array = /^client_config\[(\d+)\]\.([a-z_]+)/.exec(path);
  if (array) return locateKey(source, "client_config", array[2], Number(array[1]));
  const parts = path.replace(/\[\d+\]/g, "").split(".");
  if (parts.length === 3) return locateKey(source, `${parts[0]}.${parts[1]}`, parts[2]);
  return locateKey(source, parts[0]!, parts[1]);
}

class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly #source: string;
  readonly #deps: LoadDeps;

  constructor(source: string, deps: LoadDeps) {
    this.#source = source;
    this.#deps = deps;
  }

  /**
   * The sections' values. Only meaningful when no issue was recorded: every key then has been
   * checked against its spec, which is what the `Values` type states.
   */
  check(document: Record<string, unknown>): Values {
    const known = [...Object.keys(SCHEMA), "client_config"];
    for (const name of Object.keys(document)) {
      if (!known.includes(name)) {
        this.#unknown(name, name, known, locateKey(this.#source, name, undefined));
      }
    }
    const values: Record<string, Checked> = {};
    for (const [section, spec] of Object.entries(SCHEMA)) {
      const raw = document[section] ?? {};
      if (!isTable(raw)) {
        this.#issue(section, `Expected a table ([${section}]), got ${typeName(raw)}`);
        continue;
      }
      values[section] = this.#checkSection(section, spec, raw);
    }
    return values as unknown as Values;
  }

  checkClientConfig(raw: unknown): ClientConfigValues[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      this.#issue(
        "client_config",
        `Expected an array of tables ([[client_config]]), got ${typeName(raw)}`,
      );
      return [];
    }
    return raw.map((entry, index) => {
      const path = `client_config[${index}]`;
      if (!isTable(entry)) {
        this.#issue(path, `Expected a table, got ${typeName(entry)}`);
        return {} as ClientConfigValues;
      }
      return this.#checkSection(
        path,
        CLIENT_CONFIG_SPEC,
        entry,
        index,
      ) as unknown as ClientConfigValues;
    });
  }

  #checkSection(
    section: string,
    spec: SectionSpec,
    raw: Record<string, unknown>,
    arrayIndex?: number,
  ): Checked {
    const accepted = acceptedKeys(spec);
    const isArrayEntry = arrayIndex !== undefined;
    const sectionName = isArrayEntry ? "client_config" : section;
    for (const key of Object.keys(raw)) {
      if (!accepted.includes(key)) {
        this.#unknown(
          `${section}.${key}`,
          key,
          accepted,
          locateKey(this.#source, sectionName, key, arrayIndex),
        );
      }
    }
    const out: Checked = {};
    for (const [key, keySpec] of Object.entries(spec)) {
      const path = `${section}.${key}`;
      const line = (name = key) => locateKey(this.#source, sectionName, name, arrayIndex);
      let value = raw[key];
      let fileValue = keySpec.type === "secret" ? raw[`${key}_file`] : undefined;
      if (!isArrayEntry) {
        const fromEnv = this.#fromEnv(section, key, keySpec);
        if (fromEnv !== undefined) value = fromEnv;
        const fileFromEnv = keySpec.type === "secret"
          ? this.#deps.env[envName(section, `${key}_file`)]
          : undefined;
        if (fileFromEnv !== undefined) fileValue = fileFromEnv;
      }
      if (keySpec.type === "secret" && value !== undefined && fileValue !== undefined) {
        this.#issue(path, `Conflicting keys: set either ${key} or ${key}_file, not both`, line());
        continue;
      }
      if (fileValue !== undefined) {
        const secret = this.#readSecretFile(`${path}_file`, fileValue, line(`${key}_file`));
        if (secret !== undefined) out[key] = secret;
        continue;
      }
      if (value === undefined) {
        if (keySpec.required) {
          this.#issue(
            path,
            "Missing required key",
            isArrayEntry ? locateKey(this.#source, sectionName, undefined, arrayIndex) : undefined,
          );
        } else if (keySpec.default !== undefined) {
          const checked = this.#checkValue(path, keySpec, keySpec.default, undefined);
          if (checked !== undefined) out[key] = checked;
        }
        continue;
      }
      const checked = this.#checkValue(path, keySpec, value, line());
      if (checked !== undefined) out[key] = checked;
    }
    return out;
  }

  #fromEnv(section: string, key: string, spec: KeySpec): unknown {
    const text = this.#deps.env[envName(section, key)];
    if (text === undefined) return undefined;
    switch (spec.type) {
      case "bool":
        return text === "true" ? true : text === "false" ? false : text;
      case "int":
        return /^-?\d+$/.test(text) ? Number(text) : text;
      case "strings":
        return text.trimStart().startsWith("[") ? this.#parseEnvToml(section, key, text) : [text];
      case "table":
        return this.#parseEnvToml(section, key, text);
      default:
        return text;
    }
  }

  #parseEnvToml(section: string, key: string, text: string): unknown {
    try {
      return parse(`value = ${text}`)["value"];
    } catch {
      this.#issue(
        `${section}.${key}`,
        `Environment variable ${
          envName(section, key)
        } is not a TOML value: expected e.g. ["a", "b"] or { name = "value" }`,
      );
      return undefined;
    }
  }

  #readSecretFile(path: string, file: unknown, line: number | undefined): Secret | undefined {
    if (typeof file !== "string" || file === "") {
      this.#issue(path, `Expected a file path, got ${typeName(file)}`, line);
      return undefined;
    }
    try {
      const text = this.#deps.readTextFile(file).replace(/\r?\n$/, "");
      if (text === "") {
        this.#issue(path, `File ${file} is empty`, line);
        return undefined;
      }
      return new Secret(text);
    } catch (error) {
      this.#issue(path, `Cannot read ${file}: ${reason(error)}`, line);
      return undefined;
    }
  }

  #checkValue(
    path: string,
    spec: KeySpec,
    value: unknown,
    line: number | undefined,
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
          const bound = (limit: number | undefined) =>
            limit === undefined ? "any" : formatDuration(limit);
          this.#issue(
            path,
            `Expected a duration from ${bound(spec.min)} to ${bound(spec.max)}, got "${value}"`,
            line,
          );
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
    const close = suggest(key, known);
    this.#issue(path, close ? `Unknown key (did you mean "${close}"?)` : "Unknown key", line);
  }

  #issue(path: string, message: string, line?: number): void {
    this.issues.push(line === undefined ? { path, message } : { path, message, line });
  }
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

function reason(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
