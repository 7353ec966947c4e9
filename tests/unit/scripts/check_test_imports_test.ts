import { assertEquals } from "../../support/assert.ts";
import { checkTestImports, foreignAsserts } from "../../../scripts/check_test_imports.ts";

// In a .txt file, so that the check over tests/ does not find these imports in this test itself.
const FIXTURE = new URL("../../fixtures/imports/foreign_asserts.txt", import.meta.url);
const SOURCE = Deno.readTextFileSync(FIXTURE);
const NODE_ASSERT_LINE = SOURCE.split("\n")[1]!;

Deno.test("foreignAsserts() finds node:assert and @std/assert however they are imported", () => {
  assertEquals(foreignAsserts(SOURCE), [
    "node:assert",
    "node:assert/strict",
    "assert",
    "jsr:@std/assert@1",
    "@std/assert/match",
    "@std/assert",
    "node:assert/strict",
  ]);
});

Deno.test("checkTestImports() names each file that imports node:assert, but not the wrapper", () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/tests/support`, { recursive: true });
    Deno.mkdirSync(`${root}/tests/unit`, { recursive: true });
    Deno.writeTextFileSync(`${root}/tests/support/assert.ts`, NODE_ASSERT_LINE);
    Deno.writeTextFileSync(`${root}/tests/unit/x_test.ts`, NODE_ASSERT_LINE);
    Deno.writeTextFileSync(`${root}/tests/unit/y_test.ts`, SOURCE.split("\n")[7]!);
    assertEquals(checkTestImports([`${root}/tests`], root), [
      "tests/unit/x_test.ts imports node:assert/strict: use tests/support/assert.ts",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("tests/ and bench/ assert only through tests/support/assert.ts", () => {
  assertEquals(checkTestImports(["tests", "bench"]), []);
});
