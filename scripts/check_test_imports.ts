/**
 * Fails when a test or benchmark imports an assertion library other than tests/support/assert.ts,
 * so that the tests keep one assertion style (one set of names, one way to say what failed).
 * Run: deno run --allow-read scripts/check_test_imports.ts [dir ...]
 */
import { relative } from "node:path";
import { readFileSync } from "node:fs";
import { sourceFiles, specifiersOf } from "./check_imports.ts";

/** The one module that may wrap an assertion library, relative to the repository root. */
export const ASSERT_MODULE = "tests/support/assert.ts";

/** node:assert (and node:assert/strict, with or without the prefix) and @std/assert. */
const FOREIGN_ASSERT = /^(?:node:)?assert(?:\/strict)?$|(?:^|[:/])@std\/assert(?:[@/]|$)/;

/** The assertion libraries a source imports directly. */
export function foreignAsserts(source: string): string[] {
  return specifiersOf(source).filter((specifier) => FOREIGN_ASSERT.test(specifier));
}

/** One message per direct import of an assertion library in the .ts files below `dirs`. */
export function checkTestImports(dirs: readonly string[], root = "."): string[] {
  const problems: string[] = [];
  for (const file of dirs.flatMap((dir) => sourceFiles(dir))) {
    const path = relative(root, file);
    if (path === ASSERT_MODULE) continue;
    for (const specifier of foreignAsserts(readFileSync(file, "utf8"))) {
      problems.push(`${path} imports ${specifier}: use ${ASSERT_MODULE}`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const dirs = Deno.args.length > 0 ? Deno.args : ["tests", "bench"];
  const problems = checkTestImports(dirs);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) Deno.exit(1);
  console.log(`assertions: ${dirs.join(", ")} import only ${ASSERT_MODULE}`);
}
