/**
 * A busy server's day, shared by steady_heap_test.ts (Deno) and _steady_heap_bun_child.ts (Bun):
 * every established client renegotiates again and again (REAUTH), and new clients connect and
 * leave before signing in. It is read the way OpenVPN sends it, through ManagementProtocol in
 * 64 KB chunks, so every value the bridge sees is a slice of one.
 *
 * The heap is measured over two windows of rounds after a warm-up, and the smaller growth is what
 * the day kept: whatever is kept per event grows in both windows alike, while a one-off step (an
 * engine's own caches or compiled code, landing when a busy machine gets round to it) lands in
 * one. A CI machine once saw such a 1.2 MB step in Bun's heap over one 40-round window; here the
 * same window grows by 200-350 KB.
 */
import { type ManagementEvent, ManagementProtocol } from "../../src/management/protocol.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { assertEquals } from "../support/assert.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "../support/client_certificate.ts";
import { testClientEvents } from "../support/client_events_fixture.ts";
import type { FakeClock } from "../support/fake_clock.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { establishedSession, sessionIdOf } from "./_fixtures.ts";

export const CLIENTS = 2_000;
export const NEWCOMERS_PER_ROUND = 100;
const WARM_UP_ROUNDS = 3;
const CHUNK_CHARS = 64 * 1024;

/** A `>CLIENT:` block (`header`: `CONNECT,{cid},{kid}` and so on) shaped like a 2.6 server's. */
function block(header: string, env: string[]): string {
  const lines = [
    `>CLIENT:${header}`,
    ...[
      ...env,
      "untrusted_ip=10.1.2.3",
      "untrusted_port=51234",
      "IV_VER=2.6.14",
      "IV_PLAT=linux",
      "IV_SSO=openurl,webauth,crtext",
      "IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305",
      "tls_digest_sha256_0=7a:08:9c:90:e2:7f:10:be:87:e2:b7:3f:c7:c3:a2:a5:fc:fd:88:d9:9e:a2",
      // A certificate client's: without it common_name is no certificate's name.
      `tls_serial_0=${CLIENT_CERTIFICATE_SERIAL}`,
    ].map((line) => `>CLIENT:ENV,${line}`),
    ">CLIENT:ENV,END",
  ];
  return lines.join("\r\n") + "\r\n";
}

/** What a day of `rounds` rounds in each of two windows kept; see the module comment. */
export interface SteadyHeap {
  /** The smaller of the two windows' growths, in bytes: what the test judges. */
  kept: number;
  /** Each window's growth, in bytes, for the message. */
  windows: [number, number];
}

export async function steadyHeapGrowth(
  store: SessionStore,
  clock: FakeClock,
  rounds: number,
): Promise<SteadyHeap> {
  const start = clock.now();
  for (let client = 0; client < CLIENTS; client++) {
    await store.putSession(establishedSession(client, start));
  }
  const { events, commander } = testClientEvents({ store, clock, authPendingTimeoutMs: 180_000 });
  const protocol = new ManagementProtocol();
  const handle = (event: ManagementEvent): Promise<void> | undefined => {
    if (event.type === "client-reauth") return events.onReauth(event.cid, event.kid, event.env);
    if (event.type === "client-connect") return events.onConnect(event.cid, event.kid, event.env);
    if (event.type === "client-disconnect") return events.onDisconnect(event.cid);
    return undefined;
  };
  /** Feeds `text` in chunks as a socket would, handling each chunk's events together. */
  const feed = async (text: string) => {
    const handled: Promise<void>[] = [];
    for (let at = 0; at < text.length; at += CHUNK_CHARS) {
      for (const event of protocol.push(text.slice(at, at + CHUNK_CHARS)).events) {
        const done = handle(event);
        if (done) handled.push(done);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await Promise.all(handled);
  };
  let nextNewcomer = 1_000_000;
  const round = async (kid: number) => {
    clock.time += 60_000;
    let text = "";
    for (let client = 0; client < CLIENTS; client++) {
      text += block(`REAUTH,${client},${kid}`, [
        `common_name=user${client}`,
        `session_id=${sessionIdOf(client)}`,
        "session_state=Authenticated",
      ]);
    }
    await feed(text);
    const newcomers = Array.from({ length: NEWCOMERS_PER_ROUND }, () => nextNewcomer++);
    await feed(
      newcomers.map((cid) =>
        block(`CONNECT,${cid},1`, [`common_name=new${cid}`, `session_id=new-session-${cid}`])
      ).join(""),
    );
    await feed(
      newcomers.map((cid) => block(`DISCONNECT,${cid}`, [`common_name=new${cid}`])).join(""),
    );
    const kinds = commander.commands.map((command) => command.kind);
    assertEquals(kinds.filter((kind) => kind === "auth-nt").length, CLIENTS, `round ${kid}`);
    assertEquals(kinds.filter((kind) => kind === "pending").length, NEWCOMERS_PER_ROUND);
    commander.commands.length = 0;
  };
  let kid = 2;
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await round(kid++);
  const warm = await settledHeap();
  for (let i = 0; i < rounds; i++) await round(kid++);
  const middle = await settledHeap();
  for (let i = 0; i < rounds; i++) await round(kid++);
  const windows: [number, number] = [middle - warm, (await settledHeap()) - middle];
  // Still answering from the same sessions after the measurement.
  assertEquals((await store.getSession(sessionIdOf(7)))?.cid, 7);
  events.close();
  return { kept: Math.min(...windows), windows };
}
