/**
 * What a bridge allocates per REAUTH, and where: V8's sampling heap profiler (through the
 * inspector, every allocated object counted, also those the next young collection frees) over
 * REAUTH storms of a bridge with `--events` sessions, after `--warm` storms that are not
 * counted. Prints bytes per REAUTH, by owner (the innermost frame of one of our files on the
 * allocating stack, as profile_top.ts groups CPU samples) and by the allocating frame with its
 * callers. Allocation is what fills the young generation: each storm's scavenges, and the first
 * storm's page faults while V8 grows it (bench/README.md, "the memory store's first storm").
 *
 *   deno run -A bench/tools/alloc_profile.ts [--store memory|file|redis] [--events 10000]
 *     [--warm 3] [--storms 2] [--out FILE.heapprofile]
 *
 * The figures are samples (one every 256 bytes on average), so sites under ~20 bytes per REAUTH
 * are noise. Line numbers are those of the code Deno runs (TypeScript with its types removed).
 * An allocation is charged to the frames V8 reports for it, and those follow its inlining: the
 * same code showed 1,166 bytes per REAUTH in keyed_lock.ts in one run and 37 in the next, the
 * rest under its callers. Compare totals across changes; read owners as where to look.
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { blocksFor } from "../scenarios/storms.ts";
import { type ResponderKind, startResponder } from "../scenarios/responders.ts";
import { freePort } from "../../tests/support/free_port.ts";

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** The child's inspector over its WebSocket: one call at a time is all this tool needs. */
class Inspector {
  #nextId = 0;
  readonly #waiting = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (message.id === undefined) return;
      this.#waiting.get(message.id)?.(message.result);
      this.#waiting.delete(message.id);
    };
  }

  static async open(port: number): Promise<Inspector> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      webSocketDebuggerUrl: string;
    }[];
    const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new Inspector(socket);
  }

  call(method: string, params: unknown = {}): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    store: { type: "string", default: "memory" },
    events: { type: "string", default: "10000" },
    warm: { type: "string", default: "3" },
    storms: { type: "string", default: "2" },
    out: { type: "string" },
  },
});
const kinds: Record<string, ResponderKind> = {
  memory: "bridge-memory",
  file: "bridge-file",
  redis: "bridge-redis",
};
const kind = kinds[values.store];
if (kind === undefined) {
  throw new Error(`--store must be memory, file or redis, got ${values.store}`);
}
const events = Number(values.events);
const storms = Number(values.storms);

const port = await freePort();
const responder = await startResponder(kind, events, "deno", [`--inspect=127.0.0.1:${port}`]);
const inspector = await Inspector.open(port);
try {
  let round = 0;
  for (let i = 0; i < Number(values.warm); i++) {
    await responder.server.run(blocksFor("REAUTH", events, round++));
  }
  await inspector.call("HeapProfiler.enable");
  await inspector.call("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < storms; i++) {
    await responder.server.run(blocksFor("REAUTH", events, round++));
  }
  const { profile } = await inspector.call("HeapProfiler.stopSampling") as {
    profile: { head: HeapNode };
  };
  if (values.out) writeFileSync(values.out, JSON.stringify(profile));
  report(profile.head, events * storms);
} finally {
  inspector.close();
  await responder.stop();
}

function report(head: HeapNode, reauths: number): void {
  const byOwner = new Map<string, number>();
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, stack: string[], owner: string) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(src|node_modules)\//, "$1/");
    const frame = `${functionName || "(anonymous)"} ${file.split("/").pop()}:${lineNumber + 1}`;
    const mine = url.includes("/src/") ? file : owner;
    const here = [...stack, frame];
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(byOwner, mine, node.selfSize);
      add(bySite, here.slice(-3).reverse().join(" < "), node.selfSize);
    }
    for (const child of node.children) walk(child, here, mine);
  };
  walk(head, [], "(runtime, no file of ours on the stack)");
  const perReauth = (bytes: number) => String(Math.round(bytes / reauths)).padStart(7);
  console.log(`${perReauth(total)} bytes allocated per REAUTH (${reauths} REAUTHs, ${kind})`);
  console.log("\nby owner (innermost file of ours), bytes per REAUTH:");
  for (const [owner, bytes] of top(byOwner, 20)) console.log(`${perReauth(bytes)}  ${owner}`);
  console.log("\nby allocating frame < its callers, bytes per REAUTH:");
  for (const [site, bytes] of top(bySite, 25)) console.log(`${perReauth(bytes)}  ${site}`);
}

function add(map: Map<string, number>, key: string, bytes: number): void {
  map.set(key, (map.get(key) ?? 0) + bytes);
}

function top(map: Map<string, number>, count: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
}
