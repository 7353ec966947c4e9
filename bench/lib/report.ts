/** Tables on stdout and JSON files under bench/results/. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, fromFileUrl, join } from "./paths.ts";

export type Row = Record<string, string | number | boolean>;

export const RESULTS_DIR = join(dirname(fromFileUrl(import.meta.url)), "..", "results");

export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (value === undefined ? "" : String(value));
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length))
  );
  const line = (values: string[]) =>
    "| " + values.map((value, i) => value.padEnd(widths[i]!)).join(" | ") + " |";
  console.log(line(columns));
  console.log("|" + widths.map((width) => "-".repeat(width + 2)).join("|") + "|");
  for (const row of rows) console.log(line(columns.map((column) => cell(row[column]))));
}

export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
  return path;
}

/** "met" / "MISSED" for a goal. */
export function verdict(met: boolean): string {
  return met ? "met" : "MISSED";
}
