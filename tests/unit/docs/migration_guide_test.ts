/**
 * docs/migrating-from-openvpn-auth-oauth2.md maps the other tool's settings to ours. It writes
 * their options as flags (`--oauth2.issuer`) and ours as `section.key`, alone or with a value
 * (`log.level = "warning"`): every such key must be one this version accepts, and every value one
 * it takes at that key, or an admin copies over a setting that is refused or means nothing.
 * Names of three parts or more (`server.toml.example`) are not read as keys.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { minimalTomlWith, parseTestConfig } from "../../support/config_toml.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import {
  acceptedKeys,
  CLIENT_CONFIG_SPEC,
  SCHEMA,
  type SectionSpec,
  SERVER_SPEC,
} from "../../../src/config_loader/schema.ts";

const GUIDE_PATH = "docs/migrating-from-openvpn-auth-oauth2.md";
const ROOT = new URL("../../../", import.meta.url);

/** Every section a `section.key` of ours can name: `[openvpn]` and `[[client_config]]` included. */
const SECTIONS: Readonly<Record<string, SectionSpec>> = {
  ...SCHEMA,
  openvpn: SERVER_SPEC,
  client_config: CLIENT_CONFIG_SPEC,
};

interface NamedSetting {
  section: string;
  key: string;
  /** The value written after ` = `, when one is. */
  value: string | undefined;
}

/** The `section.key` and `section.key = value` spans of `markdown`, in order. */
function namedSettings(markdown: string): NamedSetting[] {
  const named: NamedSetting[] = [];
  for (const [, span] of markdown.matchAll(/`([^`\n]+)`/g)) {
    const setting = /^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)(?: = (.+))?$/.exec(span!);
    if (setting) named.push({ section: setting[1]!, key: setting[2]!, value: setting[3] });
  }
  return named;
}

/** The named keys that no section of ours accepts, as `section.key`. */
function unknownKeys(named: readonly NamedSetting[]): string[] {
  return named
    .filter(({ section, key }) => {
      const spec = SECTIONS[section];
      return spec === undefined || !acceptedKeys(spec).includes(key);
    })
    .map(({ section, key }) => `${section}.${key}`);
}

/**
 * The problems loading the minimal config with `section.key = value` reports at that key: none
 * for a value it takes (a problem elsewhere, such as another key the value needs, is not the
 * guide's to show in one span).
 */
function issuesAtKey({ section, key, value }: NamedSetting): string[] {
  try {
    parseTestConfig(minimalTomlWith(section, [`${key} = ${value}`]));
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues
      .filter(({ path }) => path === `${section}.${key}`)
      .map(({ message }) => `${section}.${key} = ${value}: ${message}`);
  }
}

const guide = Deno.readTextFileSync(new URL(GUIDE_PATH, ROOT));

Deno.test("every key of ours the migration guide names is in the config schema", () => {
  const named = namedSettings(guide);
  // The guide's tables name dozens: a span rule that matched none would pass on nothing.
  assert(named.length > 40, `only ${named.length} keys found in ${GUIDE_PATH}`);
  assertEquals(unknownKeys(named), [], "keys the guide names that the schema does not have");
});

Deno.test("every value the migration guide gives a key of ours is taken at that key", () => {
  const valued = namedSettings(guide).filter(({ value, section }) =>
    value !== undefined && section !== "client_config"
  );
  assert(valued.length > 5, `only ${valued.length} key = value spans in ${GUIDE_PATH}`);
  assertEquals(valued.flatMap(issuesAtKey), []);
});

Deno.test("the migration guide's key check refuses a key the schema does not have", () => {
  const named = namedSettings("`oidc.issuer`, `oidc.issuer_url`, `openvpn.addr`, `--http.cert`");
  assertEquals(unknownKeys(named), ["oidc.issuer_url", "openvpn.addr"]);
  assertEquals(issuesAtKey({ section: "log", key: "level", value: '"warn"' }).length, 1);
});

Deno.test("the README links the migration guide", async () => {
  assertStringIncludes(await Deno.readTextFile(new URL("README.md", ROOT)), GUIDE_PATH);
});
