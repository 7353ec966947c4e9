import { assert, assertEquals } from "../../support/assert.ts";
import { BlockEnv } from "../../../src/management/block_env.ts";
import { seededRandom } from "../../support/prng.ts";
import { type ManagementEvent, ManagementProtocol } from "../../../src/management/protocol.ts";

const LINES = [
  "n_clients=1",
  "password=",
  "session_id=AAAAAAAAAAAAAAAA",
  "common_name=alice",
  "username=",
  "IV_GUI_VER=>CLIENT:ENV,username=mallory", // a value that looks like a line
  "X509_0_CN=alice",
  "X509_1_CN=Test-CA", // same length as the one before, one character apart
  "tls_id_0=CN=alice",
  "carriage=ends with\r", // a value of its own ending in "\r"
  "IV_SSO=webauth",
];
const EXPECTED: Record<string, string | undefined> = {
  n_clients: "1",
  password: "",
  session_id: "AAAAAAAAAAAAAAAA",
  common_name: "alice",
  username: "",
  IV_GUI_VER: ">CLIENT:ENV,username=mallory",
  X509_0_CN: "alice",
  X509_1_CN: "Test-CA",
  tls_id_0: "CN=alice",
  carriage: "ends with\r",
  IV_SSO: "webauth",
  absent: undefined,
  "tls_id_0=CN": undefined, // a name never holds "="
  "": undefined,
  "CN": undefined,
  "name": undefined, // the end of a name is not a name
};
const BLOCK = `>CLIENT:REAUTH,7,3\r\n${
  LINES.map((line) => `>CLIENT:ENV,${line}\r\n`).join("")
}>CLIENT:ENV,END\r\n`;

function blockEvents(chunks: string[]): ManagementEvent[] {
  const core = new ManagementProtocol();
  return chunks.flatMap((chunk) => core.push(chunk).events);
}

function assertEnv(
  events: ManagementEvent[],
  how: string,
  expected: Record<string, string | undefined> = EXPECTED,
): void {
  assertEquals(events.length, 1, how);
  const [event] = events;
  assert(event?.type === "client-reauth", how);
  for (const [name, value] of Object.entries(expected)) {
    assertEquals(event.env.get(name), value, `${how}: ${name}`);
  }
}

Deno.test("a block reads the same however it is cut into chunks", () => {
  assertEnv(blockEvents([BLOCK]), "one chunk");
  for (let cut = 1; cut < BLOCK.length; cut++) {
    assertEnv(blockEvents([BLOCK.slice(0, cut), BLOCK.slice(cut)]), `cut at ${cut}`);
  }
  assertEnv(blockEvents([...BLOCK]), "one character per chunk");
  assertEnv(blockEvents(BLOCK.split(/(?<=\n)/)), "one line per chunk");
});

Deno.test("lines ended by a bare \\n read the same; one \\r before it is taken as the line end", () => {
  const text = BLOCK.replaceAll("\r\n", "\n"); // the value's own "\r" now ends its line
  const expected = { ...EXPECTED, carriage: "ends with" };
  assertEnv(blockEvents([text]), "one chunk", expected);
  assertEnv(blockEvents([...text]), "one character per chunk", expected);
});

Deno.test("a line between ENV lines leaves the block whole", () => {
  const at = BLOCK.indexOf(">CLIENT:ENV,X509_0_CN");
  const core = new ManagementProtocol();
  const ticket = core.expect("single");
  const out = core.push(`${BLOCK.slice(0, at)}SUCCESS: done\r\n${BLOCK.slice(at)}`);
  assertEquals(out.replies, [{ ticket, type: "success", message: "done" }]);
  assertEnv(out.events, "reply inside");
});

Deno.test("a name sent twice reads as its first value, in any chunking", () => {
  const text =
    ">CLIENT:CONNECT,1,1\n>CLIENT:ENV,IV_SSO=webauth\n>CLIENT:ENV,a=1\n>CLIENT:ENV,IV_SSO=openurl\n>CLIENT:ENV,a=2\n>CLIENT:ENV,END\n";
  for (const chunks of [[text], [...text]]) {
    const events = blockEvents(chunks);
    assertEquals(events.length, 1);
    const [connect] = events;
    assert(connect?.type === "client-connect");
    assertEquals([connect.env.get("IV_SSO"), connect.env.get("a")], ["webauth", "1"]);
  }
});

Deno.test("BlockEnv.get() finds only whole names at the start of a line", () => {
  const env = new BlockEnv(">CLIENT:ENV,a=>CLIENT:ENV,b=1\n>CLIENT:ENV,ab=2\n>CLIENT:ENV,b=3\n");
  assertEquals(env.get("b"), "3");
  assertEquals(env.get("ab"), "2");
  assertEquals(env.get("a"), ">CLIENT:ENV,b=1");
  assertEquals(env.get("x"), undefined);
});

Deno.test("blocks sharing a chunk read only their own lines, however the chunk is cut", () => {
  const block = (kind: string, cid: number, lines: string[]) =>
    `>CLIENT:${kind},${cid},1\r\n${
      lines.map((line) => `>CLIENT:ENV,${line}\r\n`).join("")
    }>CLIENT:ENV,END\r\n`;
  const first = block("REAUTH", 1, ["common_name=alice", "only_first=1", "shared=a"]);
  // The second block's first line follows the first block's END: a name found there, or in
  // the lines after the first block, is not the first block's.
  const second = block("CONNECT", 2, ["only_second=2", "shared=b", "common_name=bob"]);
  const chunk = `${first}SUCCESS: client-auth command succeeded\r\n${second}>INFO:tail\r\n`;
  const expected = [
    { common_name: "alice", only_first: "1", shared: "a", only_second: undefined, END: undefined },
    { common_name: "bob", only_first: undefined, shared: "b", only_second: "2", END: undefined },
  ];
  for (let cut = 0; cut < chunk.length; cut += 7) {
    const events = blockEvents(cut === 0 ? [chunk] : [chunk.slice(0, cut), chunk.slice(cut)]);
    const blocks = events.filter((e) => e.type === "client-reauth" || e.type === "client-connect");
    assertEquals(blocks.length, 2, `cut at ${cut}`);
    blocks.forEach((event, i) => {
      for (const [name, value] of Object.entries(expected[i]!)) {
        assertEquals(event.env.get(name), value, `cut at ${cut}, block ${i + 1}: ${name}`);
      }
    });
  }
});

Deno.test("BlockEnv.get() reads nothing past the end of its window", () => {
  const text = ">CLIENT:ENV,a=1\n>CLIENT:ENV,b=2\n>CLIENT:ENV,c=3\n";
  const afterB = text.indexOf(">CLIENT:ENV,c");
  const window = new BlockEnv(text, text.indexOf(">CLIENT:ENV,b"), afterB);
  assertEquals([window.get("a"), window.get("b"), window.get("c")], [undefined, "2", undefined]);
  // A window that ends inside a line holds only what is inside it.
  const cut = new BlockEnv(text, 0, text.indexOf("2"));
  assertEquals([cut.get("a"), cut.get("b")], ["1", ""]);
  assertEquals(new BlockEnv(text, 0, text.indexOf("=2")).get("b"), undefined);
});

Deno.test("random streams of blocks, cut into random chunks: each block reads exactly its own ENV", () => {
  const random = seededRandom(20261202);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // Names that are prefixes and suffixes of each other, so a match in the wrong place is likely.
  const NAMES = [
    "common_name",
    "name",
    "common_name_x",
    "untrusted_ip",
    "untrusted_ip6",
    "ip",
    "session_id",
    "session_state",
    "IV_SSO",
    "X509_0_CN",
    "username",
  ];
  const VALUES = ["", "alice", "=", "a=b", ">CLIENT:ENV,common_name=mallory", "ü €", "x\r"];
  let blocksChecked = 0;
  let readsChecked = 0;
  for (let stream = 0; stream < 200; stream++) {
    const expected: Array<Map<string, string>> = [];
    let text = "";
    const blocks = 1 + Math.floor(random() * 12);
    for (let b = 0; b < blocks; b++) {
      const end = random() < 0.8 ? "\r\n" : "\n";
      text += `>CLIENT:${pick(["CONNECT", "REAUTH"])},${b},1${end}`;
      const env = new Map<string, string>();
      for (let line = Math.floor(random() * 8); line > 0; line--) {
        const name = pick(NAMES);
        let value = pick(VALUES);
        // A value's own "\r" survives only before "\r\n" (one "\r" before "\n" ends the line).
        if (end === "\n" && value.endsWith("\r")) value = value.slice(0, -1);
        if (!env.has(name)) env.set(name, value);
        text += `>CLIENT:ENV,${name}=${value}${end}`;
        if (random() < 0.1) text += `SUCCESS: between lines${end}`;
      }
      text += `>CLIENT:ENV,END${end}`;
      if (random() < 0.3) text += `>INFO:after the block${end}`;
      expected.push(env);
    }
    const chunks: string[] = [];
    for (let at = 0; at < text.length;) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 40 : 3000));
      chunks.push(text.slice(at, at + size));
      at += size;
    }
    const events = blockEvents(chunks).filter((e) =>
      e.type === "client-connect" || e.type === "client-reauth"
    );
    assertEquals(events.length, blocks, `stream ${stream}`);
    events.forEach((event, b) => {
      for (const name of [...NAMES, "END", "absent"]) {
        assertEquals(
          event.env.get(name),
          expected[b]!.get(name),
          `stream ${stream}, block ${b}: ${name}`,
        );
        readsChecked++;
      }
      blocksChecked++;
    });
  }
  // The streams must have held enough blocks for the check to mean something.
  assert(blocksChecked > 1000 && readsChecked > 10_000, `${blocksChecked} blocks`);
});
