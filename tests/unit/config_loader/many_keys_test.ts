/**
 * A config of thousands of unknown keys is checked in one pass over its text: the source is
 * split once per check, not once per key located (20,000 keys once took 87 s), and every key
 * keeps the line it would get alone.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML } from "../../support/config_toml.ts";
import type { ConfigIssue } from "../../../src/config_loader/errors.ts";

/** A line of the generated config, with the issue path of the unknown key it sets, if any. */
interface Line {
  text: string;
  path?: string;
}

/**
 * MINIMAL_TOML, then `[sessions]` and two `[[client_config]]` blocks holding `keys` unknown
 * keys between them (every tenth quoted).
 */
function manyUnknownKeys(keys: number): Line[] {
  const lines: Line[] = MINIMAL_TOML.split("\n").map((text) => ({ text }));
  const unknown = (at: string, index: number): Line => {
    const name = `unknown_${index}`;
    return { text: `${index % 10 === 0 ? `"${name}"` : name} = 1`, path: `${at}.${name}` };
  };
  const half = Math.floor(keys / 2);
  lines.push({ text: "[sessions]" });
  for (let index = 0; index < half; index++) lines.push(unknown("sessions", index));
  for (const block of [0, 1]) {
    lines.push({ text: "[[client_config]]" }, { text: 'groups = ["vpn"]' }, {
      text: 'lines = ["push \\"route 10.0.0.0 255.0.0.0\\""]',
    });
    for (let index = half + block; index < keys; index += 2) {
      lines.push(unknown(`client_config[${block}]`, index));
    }
  }
  return lines;
}

function sourceOf(lines: readonly Line[]): string {
  return lines.map(({ text }) => text).join("\n");
}

/** How often `source` itself is split while `run` runs. */
function splitsOf(source: string, run: () => void): number {
  const split = String.prototype.split;
  let splits = 0;
  String.prototype.split = function (this: string, ...args: Parameters<typeof split>) {
    if (this === source) splits++;
    return split.apply(this, args);
  } as typeof split;
  try {
    run();
  } finally {
    String.prototype.split = split;
  }
  return splits;
}

Deno.test("parseConfig() splits a config of 2,000 unknown keys once and locates each", () => {
  const keys = 2_000;
  const lines = manyUnknownKeys(keys);
  const source = sourceOf(lines);
  let issues: ConfigIssue[] = [];
  const splits = splitsOf(source, () => issues = configIssuesOf(source));
  assert(splits <= 1, `The source was split ${splits} times for ${keys} keys`);
  const expected = new Map<string, number>();
  lines.forEach(({ path }, index) => path && expected.set(path, index + 1));
  assertEquals(expected.size, keys);
  assertEquals(new Map(issues.map(({ path, line }) => [path, line])), expected);

  // Each as it would be reported alone: the other keys' lines blanked, the numbering kept.
  const sample = ["sessions.unknown_0", "sessions.unknown_999", "client_config[1].unknown_1999"];
  for (const path of sample) {
    const alone = lines.map((line) =>
      line.path === undefined || line.path === path ? line : {
        text: "",
      }
    );
    assertEquals(
      configIssuesOf(sourceOf(alone)),
      issues.filter((issue) => issue.path === path),
      path,
    );
  }
});
