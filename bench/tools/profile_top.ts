/**
 * Prints the top frames of a V8 `.cpuprofile` (from `deno run --cpu-prof`) by self time and by
 * inclusive time, to find the hot spots behind a missed goal; then by owner: each sample's time
 * goes to the innermost frame of one of our files (`src/...`) or of an npm package on its
 * stack, so that the runtime code we call (fetch, `Headers`, sockets) counts where it is called.
 * With the number of logins (or events) in the profile, owners are shown in µs per login, which
 * compares a bridge's profile with the reference RP's (both written with BENCH_PROFILE_DIR).
 *
 *   deno run -A bench/tools/profile_top.ts FILE.cpuprofile [N] [LOGINS] [--max-sample-ms MS]
 *
 * `--max-sample-ms` leaves out samples whose time delta is longer (3 is a good value for Bun's
 * `--cpu-prof`): Bun has no idle frame and gives the time its thread waited to the sample that
 * follows, in whatever frame that lands (a bridge's REAUTH storm showed 45 s of "self time" in
 * frames that run for microseconds, 1.9 s of it busy).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { "max-sample-ms": { type: "string" } },
  allowPositionals: true,
});
const [file = "", countText = "25", loginsText = ""] = positionals;
const maxSampleUs = values["max-sample-ms"] === undefined
  ? Infinity
  : Number(values["max-sample-ms"]) * 1000;
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const count = Number(countText);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) parent.set(child, node.id);
}

const name = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*\/(src|bench|node_modules)\//, "$1/");
  return `${functionName || "(anonymous)"} ${short}${url ? `:${lineNumber + 1}` : ""}`;
};

/** `src/http/app.ts`, `bench/lib/reference_rp.ts` or `npm:hono`; undefined for the runtime. */
const ownerOf = (url: string): string | undefined => {
  const ours = /\/(src|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  // The last node_modules/ of the path: Deno keeps packages under node_modules/.deno/<id>/.
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return pkg ? `npm:${pkg[1]}` : undefined;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const byOwner = new Map<string, number>();
let total = 0;
let leftOut = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  if (dt > maxSampleUs) {
    leftOut += dt;
    return;
  }
  total += dt;
  const node = byId.get(id)!;
  self.set(name(node), (self.get(name(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = name(byId.get(at)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
  if (node.callFrame.functionName === "(idle)") return;
  let owner: string | undefined;
  for (let at: number | undefined = id; at !== undefined && !owner; at = parent.get(at)) {
    owner = ownerOf(byId.get(at)!.callFrame.url);
  }
  // Frames no file of ours or package called: GC, the event loop, WebCrypto's verify.
  owner ??= `(runtime) ${node.callFrame.functionName || "(anonymous)"}`;
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + dt);
});

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
};
if (leftOut > 0) {
  console.log(`Left out: ${(leftOut / 1000).toFixed(0)} ms in samples over --max-sample-ms`);
}
print("Self time", self);
print("Inclusive time", inclusive);

const logins = Number(loginsText);
let busy = 0;
for (const us of byOwner.values()) busy += us;
console.log(`\nBy owner, idle left out (busy ${(busy / 1000).toFixed(0)} ms)`);
for (const [key, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, count)) {
  const figure = logins > 0
    ? `${(us / logins).toFixed(1).padStart(7)} µs/login`
    : `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${figure}  ${key}`);
}
