/**
 * Feeds well over 100,000 random and mutated lines through the protocol core: nothing may
 * throw and its buffers must stay within the limits. Seeded, so a failure can be replayed.
 */
import { assert } from "../../support/assert.ts";
import { DEFAULT_LIMITS, ManagementProtocol } from "../../../src/management/protocol.ts";
import { seededRandom } from "../../support/prng.ts";
import { loadTranscript } from "./transcript_loader.ts";

const REAL_LINES = [
  "reauth.server-mgmt.txt",
  "crtext.server-mgmt.txt",
  "kill-restart.server-mgmt.txt",
  "pending.client-mgmt.txt",
].flatMap((name) =>
  loadTranscript(name).flatMap((step) =>
    "received" in step ? [step.received.replace(/\r\n$/, "")] : []
  )
);

const TOKENS = [
  ">CLIENT:",
  "ENV,",
  "END",
  ",",
  "=",
  ":",
  "\r",
  "\n",
  "\r\n",
  ">",
  "SUCCESS:",
  "ERROR:",
  "ENTER PASSWORD:",
  "CONNECT,",
  "REAUTH,",
  "0",
  "4294967296",
  "99999999999999999999",
  "\u0000",
  "ü",
  "\ud800",
];

function fuzzLine(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const roll = random();
  if (roll < 0.002) return pick(REAL_LINES).repeat(Math.ceil(DEFAULT_LIMITS.maxLineChars / 40) + 1);
  if (roll < 0.45) {
    // A real line with a few mutations: cut, duplicated, token spliced in, byte flipped.
    let line = pick(REAL_LINES);
    const mutations = 1 + Math.floor(random() * 3);
    for (let i = 0; i < mutations; i++) {
      const at = Math.floor(random() * (line.length + 1));
      const kind = random();
      if (kind < 0.3) line = line.slice(0, at);
      else if (kind < 0.6) line = line.slice(0, at) + pick(TOKENS) + line.slice(at);
      else if (kind < 0.8) {
        line = line.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x110)) +
          line.slice(at + 1);
      } else line = line + line.slice(at);
    }
    return line;
  }
  if (roll < 0.75) return pick(REAL_LINES);
  if (roll < 0.95) {
    const bytes = new Uint8Array(Math.floor(random() * 120));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    return new TextDecoder().decode(bytes);
  }
  return Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(TOKENS)).join("");
}

function assertBounded(core: ManagementProtocol): void {
  const stats = core.stats();
  const cap = DEFAULT_LIMITS.maxLineChars +
    DEFAULT_LIMITS.maxEnvLines * DEFAULT_LIMITS.maxLineChars +
    stats.pendingTickets * DEFAULT_LIMITS.maxReplyChars;
  assert(stats.bufferedChars <= cap, `buffered ${stats.bufferedChars} > ${cap}`);
  assert(stats.openBlockEnvLines <= 1_000_000);
}

Deno.test("fuzz: 120,000 random and mutated lines never throw and keep buffers bounded", () => {
  const random = seededRandom(20261128);
  const core = new ManagementProtocol();
  const seen = new Set<string>();
  let lines = 0;
  let pending = "";
  while (lines < 120_000) {
    pending += `${fuzzLine(random)}${random() < 0.9 ? "\r\n" : "\n"}`;
    lines++;
    if (random() < 0.05 && core.stats().pendingTickets < 64) {
      core.expect(random() < 0.5 ? "single" : "multi");
    }
    if (pending.length > 2000 || random() < 0.2) {
      let at = 0;
      while (at < pending.length) {
        const size = 1 + Math.floor(random() * 700);
        const out = core.push(pending.slice(at, at + size));
        for (const event of out.events) {
          seen.add(event.type === "warning" ? event.code : event.type);
        }
        if (out.replies.length > 0) seen.add("reply");
        at += size;
      }
      pending = "";
      assertBounded(core);
    }
    if (random() < 0.0005) core.reset();
  }
  core.push(pending);
  assertBounded(core);
  // The input must have reached the interesting paths, or this test proves nothing.
  for (
    const kind of [
      "client-connect",
      "client-reauth",
      "reply",
      "line-too-long",
      "malformed-line",
      "incomplete-block",
    ]
  ) {
    assert(seen.has(kind), `fuzz input never produced ${kind}: ${[...seen].join(", ")}`);
  }
});

Deno.test("fuzz: huge lines without newline stay below the line limit", () => {
  const random = seededRandom(7);
  const core = new ManagementProtocol();
  for (let i = 0; i < 200; i++) {
    const size = 1 + Math.floor(random() * 50_000);
    core.push((random() < 0.5 ? ">CLIENT:ENV,x=" : "") + "A".repeat(size));
    assert(core.stats().bufferedChars <= DEFAULT_LIMITS.maxLineChars);
  }
  const out = core.push("\n>INFO:alive\n");
  assert(out.events.some((event) => event.type === "info" && event.message === "alive"));
});

Deno.test("fuzz: 100,000 ENV lines without END keep at most the ENV line limit", () => {
  const core = new ManagementProtocol();
  core.push(">CLIENT:CONNECT,1,1\n");
  const chunk = Array.from({ length: 1000 }, (_, i) => `>CLIENT:ENV,name_${i}=${"v".repeat(100)}\n`)
    .join("");
  for (let i = 0; i < 100; i++) {
    core.push(chunk);
    assert(core.stats().bufferedChars <= DEFAULT_LIMITS.maxEnvLines * 120);
  }
  assert(core.stats().openBlockEnvLines === 100_000);
  const out = core.push(">CLIENT:ENV,END\n");
  assert(
    out.events.length === 1 && out.events[0]?.type === "warning" &&
      out.events[0].code === "env-limit",
  );
  assert(core.stats().bufferedChars === 0);
});
