/**
 * In-process cost of parsing `>CLIENT:` blocks (the management protocol layer alone, no
 * sockets): 2.6-shaped REAUTH blocks fed in 64 KiB chunks, µs per block, median of rounds.
 *
 *   deno run -A bench/protocol_parse.ts [--blocks 20000] [--rounds 15]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { clientBlock } from "./lib/client_env.ts";
import { ManagementProtocol } from "../src/management/protocol.ts";
import { median } from "./lib/stats.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { blocks: { type: "string" }, rounds: { type: "string" } },
});
const blocks = Number(values.blocks ?? 20_000);
const rounds = Number(values.rounds ?? 15);
const CHUNK = 64 * 1024;

const text = Array.from({ length: blocks }, (_, i) => clientBlock("REAUTH", i, 2)).join("");
// Decoded from bytes, as a socket's chunks are: flat strings, not slices of one big string.
const bytes = new TextEncoder().encode(text);
const decoder = new TextDecoder();
const chunks: string[] = [];
for (let at = 0; at < bytes.length; at += CHUNK) {
  chunks.push(decoder.decode(bytes.subarray(at, at + CHUNK), { stream: true }));
}

// What a consumer reads of a REAUTH (client_events.ts): without it a lazy parser would look free.
const READ = ["common_name", "username", "session_id", "session_state", "IV_SSO", "untrusted_ip"];
let sink = 0;
const perBlock: number[] = [];
for (let round = 0; round < rounds; round++) {
  const protocol = new ManagementProtocol();
  const started = performance.now();
  let seen = 0;
  for (const chunk of chunks) {
    for (const event of protocol.push(chunk).events) {
      if (event.type !== "client-reauth") continue;
      seen++;
      for (const name of READ) sink += event.env.get(name)?.length ?? 0;
    }
  }
  const elapsed = performance.now() - started;
  if (seen !== blocks) throw new Error(`parsed ${seen} of ${blocks} blocks`);
  perBlock.push((elapsed * 1000) / blocks);
}
console.log(
  `protocol parse: ${median(perBlock).toFixed(2)} µs per REAUTH block (median of ${rounds}; ` +
    `min ${Math.min(...perBlock).toFixed(2)}; ${blocks} blocks, 55 ENV lines each; sink ${
      sink % 10
    })`,
);
