/**
 * CPU per login (or event) by owner, from `perf record` data of a bench child (BENCH_PERF_DIR,
 * see bench/README.md). Unlike a V8 `.cpuprofile` (profile_top.ts), which samples wall time and
 * charges a thread's waits for the CPU to whatever frame it was in, perf samples the CPU clock:
 * only time spent running counts. With 2 cores shared by the bridge, the IdP and the driver,
 * the two disagree a lot (in B3 the `.cpuprofile` gave the bridge's timers 130 µs per login,
 * perf 3). Samples are grouped as profile_top.ts does: each goes to the innermost frame of one
 * of our files (`src/...`) or of an npm package; failing that, to the innermost JavaScript frame
 * of the runtime; failing that, to "(no JavaScript frame)": the event loop, the runtime's own
 * I/O (Deno.serve, socket reads and writes it polls), and garbage collection started from it.
 * The kernel's part of each owner is shown beside it, and the main thread is listed apart from
 * the process's other threads (V8's collector helpers, tokio's blocking pool for WebCrypto).
 *
 *   deno run -A bench/tools/perf_owners.ts FILE.data [LOGINS] [N] [--detail TEXT]
 *
 * `--detail TEXT` lists, for the owners whose name contains TEXT, each function apart. Needs
 * `perf` (Debian's `linux-perf`); JavaScript frames are named only for Deno children, which
 * BENCH_PERF_DIR starts with V8's `--perf-basic-prof` (Bun's JIT frames stay unnamed).
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { detail: { type: "string" } },
  allowPositionals: true,
});
const [file = "", loginsText = "1", countText = "30"] = positionals;
if (!file) {
  console.error("usage: perf_owners.ts FILE.data [LOGINS] [N] [--detail TEXT]");
  process.exit(2);
}
const logins = Number(loginsText);
const shown = Number(countText);
const detail = values.detail;

const script = spawnSync("perf", ["script", "-i", file, "-F", "pid,tid,period,ip,sym,dso"], {
  encoding: "utf8",
  maxBuffer: 1 << 30,
});
if (script.status !== 0) {
  console.error(script.stderr || `perf script failed (${script.status})`);
  process.exit(1);
}

/** An owner's CPU, in ns, and how much of it the kernel's. */
interface Share {
  ns: number;
  kernelNs: number;
}
/** Per process, per thread kind ("main" or "other threads"). */
const groups = new Map<string, { ns: number; kernelNs: number; owners: Map<string, Share> }>();

// V8 marks a function's tier before its name (~ ^ + * and a quote): one function, one line.
const OURS = /^JS:[~^+*']*(\S*) file:\/\/\S*?\/((?:src|node_modules)\/\S+?):\d+/;
const RUNTIME = /^JS:[~^+*']*(\S*) (?:ext:|node:)/;

function ownerOf(frames: string[]): string {
  for (const frame of frames) {
    const match = OURS.exec(frame);
    if (!match) continue;
    const path = packagePath(match[2]!);
    return detail !== undefined && path.includes(detail)
      ? `${path} ${match[1] || "(anonymous)"}`
      : path;
  }
  for (const frame of frames) {
    const match = RUNTIME.exec(frame);
    if (match) return `(runtime) ${match[1] || "(anonymous)"}`;
  }
  return "(no JavaScript frame)";
}

/** `node_modules/.deno/hono@4/node_modules/hono/dist/x.js` -> `npm:hono dist/x.js`. */
function packagePath(path: string): string {
  const at = path.lastIndexOf("node_modules/");
  if (at < 0) return path;
  const rest = path.slice(at + "node_modules/".length).split("/");
  const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  return `npm:${name}`;
}

function add(pidTid: string, periodNs: number, frames: string[]) {
  if (frames.length === 0) return;
  const [pid, tid] = pidTid.split("/");
  const key = `${pid} ${pid === tid ? "main thread" : "other threads"}`;
  let group = groups.get(key);
  if (!group) {
    group = { ns: 0, kernelNs: 0, owners: new Map() };
    groups.set(key, group);
  }
  // Frames are "ADDRESS SYMBOL (DSO)"; the symbol and DSO are what tell owners apart.
  const symbols = frames.map((frame) => frame.replace(/^[0-9a-f]+ /, ""));
  const kernel = symbols[0]!.endsWith("([kernel.kallsyms])");
  group.ns += periodNs;
  if (kernel) group.kernelNs += periodNs;
  // Owners are listed for the main thread only: the other threads run no code of ours.
  if (!key.endsWith("main thread")) return;
  const owner = ownerOf(symbols);
  if (detail !== undefined && !owner.includes(detail)) return;
  const share = group.owners.get(owner) ?? { ns: 0, kernelNs: 0 };
  share.ns += periodNs;
  if (kernel) share.kernelNs += periodNs;
  group.owners.set(owner, share);
}

let header: string[] | undefined;
let frames: string[] = [];
for (const line of script.stdout.split("\n")) {
  if (line.trim() === "") {
    if (header) add(header[0]!, Number(header[1]), frames);
    header = undefined;
    frames = [];
  } else if (line.startsWith("\t")) {
    frames.push(line.trim());
  } else {
    // perf pads the pid to 7 places: only frames begin with a tab.
    header = line.trim().split(/\s+/);
    frames = [];
  }
}
if (header) add(header[0]!, Number(header[1]), frames);

const perLogin = (ns: number) => (ns / 1000 / logins).toFixed(1).padStart(9);
for (const [key, group] of [...groups].sort((a, b) => b[1].ns - a[1].ns)) {
  console.log(
    `\n${key}: ${perLogin(group.ns).trim()} µs per login, kernel ${
      perLogin(group.kernelNs).trim()
    }`,
  );
  if (!key.endsWith("main thread")) continue;
  const owners = [...group.owners].sort((a, b) => b[1].ns - a[1].ns).slice(0, shown);
  for (const [owner, share] of owners) {
    console.log(`${perLogin(share.ns)} µs (kernel ${perLogin(share.kernelNs).trim()})  ${owner}`);
  }
}
