import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { assert, assertEquals } from "../support/assert.ts";
import { DENO_V8_FLAGS, DENO_V8_FLAGS_ARGUMENT } from "../../src/deno_v8_flags.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");

/** The recipe lines of a Makefile target (the tab-indented lines after `target:`). */
function recipe(makefile: string, target: string): string[] {
  const lines = makefile.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`${target}:`));
  assert(start >= 0, `no target ${target}`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith("\t")) break;
    body.push(line);
  }
  return body;
}

Deno.test("the Makefile's Deno flags are the program's, and make build and make run pass them", () => {
  const makefile = read("Makefile");
  assertEquals(
    makefile.match(/^DENO_V8_FLAGS := (.*)$/m)?.[1],
    DENO_V8_FLAGS_ARGUMENT,
  );
  const compile = recipe(makefile, "build").find((line) => line.includes("$(DENO) compile"));
  assert(compile?.includes("$(DENO_V8_FLAGS)"), `make build compiles without them: ${compile}`);
  const run = recipe(makefile, "run").find((line) => line.includes("src/main.ts"));
  assert(run?.includes("$(DENO_V8_FLAGS) src/main.ts"), `make run starts without them: ${run}`);
});

Deno.test("deno task start passes the flags to the service", () => {
  const tasks = JSON.parse(read("deno.json")).tasks as Record<string, string>;
  assert(
    tasks["start"]?.includes(`${DENO_V8_FLAGS_ARGUMENT} src/main.ts`),
    `deno task start: ${tasks["start"]}`,
  );
});

Deno.test("this Deno knows every flag (an unknown one stops deno run before the program starts)", () => {
  for (const flag of DENO_V8_FLAGS) assert(/^--[a-z][a-z0-9-]*$/.test(flag), flag);
  const known = spawnSync(
    process.execPath,
    ["eval", DENO_V8_FLAGS_ARGUMENT, "console.log('started')"],
    { encoding: "utf8" },
  );
  assertEquals([known.status, known.stdout.trim(), known.stderr], [0, "started", ""]);
  // The check above could not fail if Deno ignored flags it does not know.
  const unknown = spawnSync(
    process.execPath,
    ["eval", "--v8-flags=--no-such-flag-at-all", "console.log('started')"],
    { encoding: "utf8" },
  );
  assertEquals(unknown.status, 1);
  assert(unknown.stderr.includes("did not recognize"), unknown.stderr);
});
