/**
 * packaging/deb/copyright names every npm package the binary bundles: those src/ imports and
 * what they depend on, by deno.lock. A dependency added or dropped without its copyright line
 * fails here.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { sourceFiles, specifiersOf } from "../../scripts/check_imports.ts";

const ROOT = new URL("../../", import.meta.url);

interface Lock {
  readonly npm: Record<string, { readonly dependencies?: readonly string[] }>;
}

/** "npm:hono@4.13.23", "npm:/hono@4.13.23/" -> "hono@4.13.23" (deno.lock's key). */
function lockKey(target: string): string {
  const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+@[^/]+)/.exec(target);
  assert(match !== null, `not an npm import: ${target}`);
  return match[1]!;
}

/** The npm package a bare specifier resolves to through deno.json's imports (exact or prefix). */
function importedPackage(specifier: string, imports: Record<string, string>): string {
  const target = imports[specifier] ??
    Object.entries(imports).filter(([key]) => key.endsWith("/") && specifier.startsWith(key))
      .sort(([a], [b]) => b.length - a.length)[0]?.[1];
  assert(target !== undefined, `${specifier} is in no import of deno.json`);
  return lockKey(target);
}

/** deno.lock's dependency ("name", or "name@version" when several versions are locked). */
function dependencyKey(dependency: string, lock: Lock): string {
  if (dependency in lock.npm) return dependency;
  const keys = Object.keys(lock.npm).filter((key) => key.startsWith(`${dependency}@`));
  assertEquals(keys.length, 1, `deno.lock: ${dependency}`);
  return keys[0]!;
}

function packageName(key: string): string {
  return key.slice(0, key.lastIndexOf("@"));
}

/** Names of the npm packages src/ imports, with their dependencies. */
function bundledPackages(): string[] {
  const { imports } = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const lock: Lock = JSON.parse(Deno.readTextFileSync(new URL("deno.lock", ROOT)));
  const pending = sourceFiles(new URL("src", ROOT).pathname)
    .flatMap((file) => specifiersOf(Deno.readTextFileSync(file)))
    .filter((specifier) => !specifier.startsWith(".") && !specifier.startsWith("node:"))
    .map((specifier) => importedPackage(specifier, imports));
  const seen = new Set<string>();
  for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
    if (seen.has(key)) continue;
    seen.add(key);
    pending.push(...(lock.npm[key]?.dependencies ?? []).map((d) => dependencyKey(d, lock)));
  }
  return [...new Set([...seen].map(packageName))].sort();
}

/** The copyright file's paragraphs as field -> value (continuation lines joined). */
function paragraphs(text: string): Map<string, string>[] {
  return text.trim().split(/\n\n+/).map((block) => {
    const fields = new Map<string, string>();
    let last = "";
    for (const line of block.split("\n")) {
      if (line.startsWith(" ")) {
        fields.set(last, `${fields.get(last)}\n${line.trim()}`);
        continue;
      }
      const colon = line.indexOf(":");
      last = line.slice(0, colon);
      fields.set(last, line.slice(colon + 1).trim());
    }
    return fields;
  });
}

const COPYRIGHT = paragraphs(
  Deno.readTextFileSync(new URL("packaging/deb/copyright", ROOT)),
);

Deno.test("the .deb's copyright has a Files: paragraph for every npm package the binary bundles", () => {
  const named = COPYRIGHT.flatMap((p) => (p.get("Files") ?? "").split(/\s+/))
    .map((pattern) => /^node_modules\/(.+)\/\*$/.exec(pattern)?.[1])
    .filter((name) => name !== undefined).sort();
  assertEquals(named, bundledPackages());
});

Deno.test("the .deb's copyright gives the text of every license it names without one", () => {
  const texts = new Set(
    COPYRIGHT.filter((p) => !p.has("Files") && p.has("License")).map((p) =>
      p.get("License")!.split("\n")[0]!
    ),
  );
  for (const paragraph of COPYRIGHT.filter((p) => p.has("Files"))) {
    const [name, ...text] = paragraph.get("License")!.split("\n");
    assert(text.length > 0 || texts.has(name!), `License: ${name} has no text`);
  }
});
