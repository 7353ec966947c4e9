/**
 * KeyLines.find(): the line a key's issue points at, from an index built once. The cases a
 * lookup by the text before `=` could get wrong: quoted keys, keys holding `=` or ending in
 * spaces, the n-th `[[section]]` block, and a key set again further down.
 */
import { assertEquals } from "../../support/assert.ts";
import { KeyLines } from "../../../src/config_loader/locate.ts";

const SOURCE = [
  /* 1 */ "top = 1",
  /* 2 */ "[s]",
  /* 3 */ 'plain = "a=b"',
  /* 4 */ '"quoted" = 1',
  /* 5 */ "'single'=1",
  /* 6 */ '"a=b" = 1',
  /* 7 */ '"sp " = 1',
  /* 8 */ "plain = 2",
  /* 9 */ "[[block]]",
  /* 10 */ "k = 1",
  /* 11 */ "[[block]]",
  /* 12 */ "k = 2",
  /* 13 */ "only_second = 1",
  /* 14 */ "[ s.t ]",
  /* 15 */ "plain = 3",
].join("\r\n");

Deno.test("KeyLines.find() gives the first line of a key under its section", () => {
  const lines = new KeyLines(SOURCE);
  const cases: Array<[string, string | undefined, number | undefined, number | undefined]> = [
    ["", "top", undefined, 1],
    ["s", undefined, undefined, 2],
    ["s", "plain", undefined, 3],
    ["s", "quoted", undefined, 4],
    ["s", "single", undefined, 5],
    ["s", "a=b", undefined, 6],
    ["s", "b", undefined, undefined],
    ["s", "sp ", undefined, 7],
    ["s", "sp", undefined, undefined],
    ["s", "top", undefined, undefined],
    ["s.t", undefined, undefined, 14],
    ["s.t", "plain", undefined, 15],
    ["missing", undefined, undefined, undefined],
  ];
  for (const [section, key, arrayIndex, line] of cases) {
    assertEquals(lines.find(section, key, arrayIndex), line, `${section} ${key}`);
  }
});

Deno.test("KeyLines.find() tells the blocks of an array of tables apart", () => {
  const lines = new KeyLines(SOURCE);
  assertEquals(lines.find("block", undefined, 0), 9);
  assertEquals(lines.find("block", undefined, 1), 11);
  assertEquals(lines.find("block", undefined, 2), undefined);
  assertEquals(lines.find("block", "k", 1), 12);
  assertEquals(lines.find("block", "only_second", 0), undefined);
  // No block given: the first line in any of them.
  assertEquals(lines.find("block", "k"), 10);
  assertEquals(lines.find("block", "only_second"), 13);
});
