/**
 * The fenced code blocks of the documentation (README.md and docs/*.md), for tests that hold
 * what the docs tell users to write to what the programs take.
 */

const ROOT = new URL("../../", import.meta.url);

/** One fenced block: its file (from the repository root), the line of its fence and its text. */
export interface FencedBlock {
  file: string;
  line: number;
  /** The lines between the fences, without the indent of the fence (a block in a list item). */
  text: string;
}

/** README.md and every docs/*.md, in a stable order. */
export function documentationFiles(): string[] {
  const docs = [...Deno.readDirSync(new URL("docs/", ROOT))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ["README.md", ...docs];
}

/**
 * The blocks fenced as ```<language> in `file`. Every fence is paired in order, whatever its
 * language, so that a block is never read from the closing fence of another.
 */
export function fencedBlocks(file: string, language: string): FencedBlock[] {
  const markdown = Deno.readTextFileSync(new URL(file, ROOT));
  const blocks: FencedBlock[] = [];
  for (const match of markdown.matchAll(/^( *)```(\S*)\n([\s\S]*?)^\1```[ \t]*$/gm)) {
    if (match[2] !== language) continue;
    const indent = match[1]!;
    blocks.push({
      file,
      line: markdown.slice(0, match.index).split("\n").length,
      text: match[3]!.split("\n").map((line) => line.slice(indent.length)).join("\n"),
    });
  }
  return blocks;
}

/** The ```<language> blocks of every documentation file. */
export function documentationBlocks(language: string): FencedBlock[] {
  return documentationFiles().flatMap((file) => fencedBlocks(file, language));
}
