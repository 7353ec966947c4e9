import { assertEquals } from "../../support/assert.ts";
import { checkGraph, importsOf, readGraph } from "../../../scripts/check_imports.ts";

Deno.test("importsOf() finds static, type, re-export and dynamic relative imports", () => {
  const source = `
import { a } from "./a.ts";
import type {
  B,
} from "../b/b.ts";
export { c } from "./c.ts";
import "./side.ts";
const d = await import("./d.ts");
import { parse } from "smol-toml";
// import { e } from "../e.ts";
/* import { f } from "../f.ts"; */
`;
  assertEquals(importsOf(source).sort(), [
    "../b/b.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./side.ts",
  ]);
});

Deno.test("checkGraph() reports upward imports and cycles", () => {
  const graph = new Map([
    ["policy/p.ts", ["bridge/b.ts", "config/types.ts"]],
    ["bridge/b.ts", ["policy/p.ts", "http/routes.ts"]],
    ["sessions/s.ts", ["config_loader/load.ts"]],
    ["config/types.ts", []],
    ["daemon.ts", ["bridge/b.ts", "http/routes.ts"]],
    ["http/routes.ts", ["bridge/b.ts"]],
  ]);
  assertEquals(checkGraph(graph).map((problem) => problem.message), [
    "policy/p.ts (layer 1) imports bridge/b.ts (layer 2)",
    "bridge/b.ts (layer 2) imports http/routes.ts (layer 3)",
    "sessions/s.ts (layer 1) imports config_loader/load.ts (layer 4)",
    "import cycle: bridge/b.ts -> policy/p.ts -> bridge/b.ts",
    "import cycle: bridge/b.ts -> http/routes.ts -> bridge/b.ts",
  ]);
});

Deno.test("src/ imports only downward and has no cycle", () => {
  assertEquals(checkGraph(readGraph("src")), []);
});
