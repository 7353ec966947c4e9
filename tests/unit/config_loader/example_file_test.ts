/**
 * `server.toml.example` is the reference the README points to: it must name every key of the
 * schema (set, or commented out) with its default, and load once its placeholder client secret
 * is replaced (and only then).
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import { parse } from "smol-toml";
import { parseConfig } from "../../../src/config_loader/load.ts";
import {
  CLIENT_CONFIG_SPEC,
  SCHEMA,
  type SectionSpec,
  SERVER_SPEC,
} from "../../../src/config_loader/schema.ts";

/** The file the package makes (packaging/deb/postinst): no key is shipped. */
const HTTP_SECRET_FILE = "/etc/openvpn-auth-oidc/http-secret";
const EXAMPLE = Deno.readTextFileSync(new URL("../../../server.toml.example", import.meta.url));

/** The example's lines by section (`[name]`, `[[name]]`, also when commented out). */
function sections(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const line of EXAMPLE.split("\n")) {
    const header = /^#?\s*\[\[?([a-z_.]+)\]\]?\s*$/.exec(line);
    if (header) current = header[1]!;
    else out.set(current, [...(out.get(current) ?? []), line]);
  }
  return out;
}

const SPECS: Array<[string, SectionSpec]> = [
  ["openvpn", SERVER_SPEC],
  ["client_config", CLIENT_CONFIG_SPEC],
  ...Object.entries(SCHEMA) as Array<[string, SectionSpec]>,
];

for (const [section, spec] of SPECS) {
  Deno.test(`server.toml.example names every [${section}] key with its default`, () => {
    const lines = sections().get(section);
    assert(lines !== undefined, `no [${section}] section`);
    for (const [key, keySpec] of Object.entries(spec)) {
      if (keySpec.type === "table") {
        assert(sections().has(`${section}.${key}`), `[${section}.${key}] is not in the example`);
        continue;
      }
      const pattern = new RegExp(`^#?\\s*${key}(_file)? = (.*)$`);
      const found = lines.map((line) => pattern.exec(line)).filter((match) => match !== null);
      assert(found.length > 0, `[${section}] ${key} is not in server.toml.example`);
      if (keySpec.default === undefined) continue;
      const written = found.filter((match) => match[1] === undefined).map((match) => {
        try {
          return parse(`v = ${match[2]}`)["v"];
        } catch {
          return undefined; // a comment that merely starts like the key
        }
      });
      assert(
        written.some((value) => JSON.stringify(value) === JSON.stringify(keySpec.default)),
        `[${section}] ${key}: default ${JSON.stringify(keySpec.default)}, example shows ${
          JSON.stringify(written)
        }`,
      );
    }
  });
}

/** Reads the HTTP secret's file, and fails for any other: the example reads no other file. */
function readOnlyHttpSecret(read: string[]) {
  return (path: string) => {
    read.push(path);
    if (path === HTTP_SECRET_FILE) return "k".repeat(64);
    throw new Error(`server.toml.example reads no other file, yet asked for ${path}`);
  };
}

Deno.test("server.toml.example loads once its client secret is set, reading only the HTTP secret's file", () => {
  const read: string[] = [];
  const { config } = parseConfig(EXAMPLE, "server.toml.example", {
    env: { OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "issued-by-the-idp" },
    readTextFile: readOnlyHttpSecret(read),
  });
  assertEquals(config.servers.length, 1);
  assertEquals(read, [HTTP_SECRET_FILE]);
  assertEquals(config.http.secret.reveal(), "k".repeat(64));
});

Deno.test("server.toml.example as shipped (the package's server.toml) is refused for its placeholder client secret alone", () => {
  // Unedited, the packaged service must not start: every sign-in would fail at the IdP.
  const refused = assertThrows(
    () =>
      parseConfig(EXAMPLE, "server.toml.example", {
        env: {},
        readTextFile: readOnlyHttpSecret([]),
      }),
    ConfigError,
  );
  assertEquals(refused.issues.map(({ path }) => path), ["oidc.client_secret"]);
  assertStringIncludes(refused.issues[0]!.message, "A placeholder, not a secret");
});
