import { assert, assertEquals } from "../../support/assert.ts";
import { BlockEnv } from "../../../src/management/block_env.ts";
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
