/**
 * README, Upgrade: the settings this version refuses that the previous one accepted, each named
 * as `section.key = value`. An operator reads that list before upgrading; every setting on it
 * must be refused at its key, or the list sends them to change what still passes.
 */
import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, minimalTomlWith, parseTestConfig } from "../../support/config_toml.ts";

const README = new URL("../../../README.md", import.meta.url);

/** The Upgrade paragraph's sentence on refused settings, its line breaks joined. */
async function refusedSettingsText(): Promise<string> {
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const upgrade = readme.slice(readme.indexOf("**Upgrade:**"), readme.indexOf("**Removal:**"));
  const start = upgrade.indexOf("This version refuses settings the previous one accepted");
  const end = upgrade.indexOf("And, at sign-in rather than at the check", start);
  assertEquals(
    start >= 0 && end > start,
    true,
    "the refused settings are in the Upgrade paragraph",
  );
  return upgrade.slice(start, end);
}

/** MINIMAL_TOML with `key = value` (and a `backend`) in `[section]`. */
function withSetting(section: string, key: string, value: string, backend?: string): string {
  const lines = [`${key} = ${value}`, ...(backend === undefined ? [] : [`backend = "${backend}"`])];
  return minimalTomlWith(section, lines);
}

Deno.test("every setting the README's Upgrade paragraph says this version refuses is refused at its key", async () => {
  const named = [...(await refusedSettingsText()).matchAll(/`(\w+)\.(\w+) = ([^`]+)`/g)];
  assertEquals(named.map(([, section, key]) => `${section}.${key}`), [
    "oidc.client_assertion_audience",
    "oidc.clock_tolerance",
    "sessions.store_timeout",
    "sessions.url",
  ]);
  for (const [setting, section, key, value] of named) {
    const paths = configIssuesOf(withSetting(section!, key!, value!)).map(({ path }) => path);
    assertEquals(paths, [`${section}.${key}`], setting);
  }
});

Deno.test("the README's Upgrade paragraph: a part of a second in clock_tolerance, and store_timeout whatever the backend", async () => {
  const text = await refusedSettingsText();
  assertEquals(text.includes('`"400ms"` to no tolerance'), true, text);
  assertEquals(
    configIssuesOf(withSetting("oidc", "clock_tolerance", '"400ms"')).map(({ path }) => path),
    ["oidc.clock_tolerance"],
  );
  assertEquals(text.includes("outside 10ms to 30s, now checked whatever `sessions.backend`"), true);
  for (const backend of ["memory", "file", "redis"]) {
    for (const value of ['"9ms"', '"31s"']) {
      const source = withSetting("sessions", "store_timeout", value, backend) +
        (backend === "redis" ? 'url = "redis://127.0.0.1:6379"\n' : "");
      const paths = configIssuesOf(source).map(({ path }) => path);
      assertEquals(paths, ["sessions.store_timeout"], `${backend} ${value}`);
    }
  }
  for (const value of ['"10ms"', '"30s"']) {
    const { warnings } = parseTestConfig(withSetting("sessions", "store_timeout", value, "memory"));
    assertEquals(warnings, [], value);
  }
});
