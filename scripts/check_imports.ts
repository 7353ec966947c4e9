/**
 * Fails when src/ imports upward or in a cycle. Layers, lowest first:
 *   0  shared vocabulary: src/config/ and the top-level helpers (log.ts, loopback.ts, ...)
 *   1  features: src/policy/, src/management/, src/oidc/, src/sessions/, src/metrics/
 *   2  src/bridge/ (turns OpenVPN events and sign-ins into decisions and commands), src/cluster/
 *      (leases on management links and work across bridge instances)
 *   3  src/http/ (the sign-in pages over the bridge), src/control/ (the admin socket over it),
 *      src/probe/ (check-config --probe: OpenVPN, the IdP and base_url from outside)
 *   4  src/config_loader/ (reads TOML and asks each feature to judge its own settings)
 *   5  the composition root: main.ts, cli.ts, daemon.ts
 * A module may import from its own layer or below; features may use each other as long as no
 * cycle forms. Run: deno run --allow-read scripts/check_imports.ts [src-dir]
 */
import { dirname, join, relative, resolve } from "node:path";
import { readdirSync, readFileSync, statSync } from "node:fs";

const ROOT_FILES = new Set(["main.ts", "cli.ts", "daemon.ts"]);
const LAYERS: Record<string, number> = {
  config: 0,
  policy: 1,
  management: 1,
  oidc: 1,
  sessions: 1,
  metrics: 1,
  bridge: 2,
  cluster: 2,
  http: 3,
  control: 3,
  probe: 3,
  config_loader: 4,
};

export interface ImportProblem {
  kind: "upward" | "cycle" | "unknown-folder";
  message: string;
}

/** The layer of a path relative to src/, or undefined for a folder no rule knows. */
export function layerOf(path: string): number | undefined {
  const [top, ...rest] = path.split("/");
  if (rest.length === 0) return ROOT_FILES.has(top!) ? 5 : 0;
  return LAYERS[top!];
}

/** Relative specifiers imported by a TypeScript source (static, re-exports and dynamic). */
export function importsOf(source: string): string[] {
  return specifiersOf(source).filter((specifier) => specifier.startsWith("."));
}

/** Every specifier a TypeScript source imports (static, re-exports and dynamic). */
export function specifiersOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      found.push(match[1]!);
    }
  }
  return found;
}

/** Every problem in a graph of src-relative paths to the src-relative paths they import. */
export function checkGraph(graph: ReadonlyMap<string, readonly string[]>): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      problems.push({ kind: "unknown-folder", message: `${from}: folder has no layer` });
      continue;
    }
    for (const to of targets) {
      const toLayer = layerOf(to);
      if (toLayer !== undefined && toLayer > fromLayer) {
        problems.push({
          kind: "upward",
          message: `${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer})`,
        });
      }
    }
  }
  for (const cycle of findCycles(graph)) {
    problems.push({ kind: "cycle", message: `import cycle: ${cycle.join(" -> ")}` });
  }
  return problems;
}

function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

export function readGraph(srcDir: string): Map<string, string[]> {
  const root = resolve(srcDir);
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const targets = importsOf(readFileSync(file, "utf8"))
      .map((specifier) => relative(root, resolve(dirname(file), specifier)));
    graph.set(relative(root, file), targets);
  }
  return graph;
}

if (import.meta.main) {
  const srcDir = Deno.args[0] ?? "src";
  const graph = readGraph(srcDir);
  const problems = checkGraph(graph);
  for (const problem of problems) console.error(`${problem.kind}: ${problem.message}`);
  if (problems.length > 0) Deno.exit(1);
  console.log(`imports: ${graph.size} modules in ${srcDir}, no upward import, no cycle`);
}
