/**
 * What MemoryDenyWriteExecute=yes (the packaged unit) costs: JavaScriptCore's JIT memory is
 * refused, so Bun runs without its JIT. Measures, with and without that rule (applied with the
 * kernel's prctl PR_SET_MDWE, as tests/package/install_test.ts does):
 *   - a CPU-bound loop of line matching and JSON under `bun` (µs per iteration);
 *   - the compiled binary (make build-bun) answering its sign-in page for an unknown login id
 *     over loopback (µs per sequential request).
 *
 *   deno run -A bench/jit_cost.ts
 */
import { freePort } from "../tests/support/free_port.ts";
import { MEMORY_DENY_WRITE_EXECUTE } from "../tests/support/memory_deny_write_execute.ts";
import { BUN, BUN_ENV } from "./lib/proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MDWE = [...MEMORY_DENY_WRITE_EXECUTE];
const LOOP = `
const line = ">CLIENT:ENV,common_name=alice-laptop";
const map = new Map();
let n = 0;
const started = performance.now();
for (let i = 0; i < 300000; i++) {
  const match = /^>CLIENT:ENV,([^=]+)=(.*)$/.exec(line + i);
  map.set(match[1] + (i % 100), match[2]);
  n += JSON.parse(JSON.stringify({ cid: i, kid: 1, env: { a: "b", c: String(i) } })).cid & 1;
}
console.log(((performance.now() - started) / 300).toFixed(2), n);
`;

async function cpuLoop(prefix: string[]): Promise<string> {
  const [cmd, ...args] = [...prefix, BUN, "-e", LOOP];
  const output = await new Deno.Command(cmd!, { args, env: { ...BUN_ENV } }).output();
  return new TextDecoder().decode(output.stdout).split(" ")[0]!;
}

async function pageLatency(prefix: string[]): Promise<string> {
  const port = await freePort();
  const [cmd, ...args] = [
    ...prefix,
    `${ROOT}dist/openvpn-auth-oidc`,
    "--config",
    `${ROOT}server.toml.example`,
  ];
  const child = new Deno.Command(cmd!, {
    args,
    env: {
      OPENVPN_AUTH_OIDC_HTTP_LISTEN: `127.0.0.1:${port}`,
      OPENVPN_AUTH_OIDC_SESSIONS_BACKEND: "memory",
      OPENVPN_AUTH_OIDC_CONTROL_SOCKET: "",
      // The example's own is a placeholder, refused.
      OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "issued-by-the-idp",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}/login/AAAAAAAAAAAAAAAAAAAAAA`;
    for (let i = 0; i < 100; i++) {
      try {
        await (await fetch(url)).text();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    for (let i = 0; i < 200; i++) await (await fetch(url)).text();
    const started = performance.now();
    for (let i = 0; i < 2000; i++) await (await fetch(url)).text();
    return ((performance.now() - started) / 2000 * 1000).toFixed(0);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

for (let run = 1; run <= 3; run++) {
  console.log(
    `run ${run}: CPU loop ${await cpuLoop([])} µs with JIT, ${await cpuLoop(MDWE)} µs without; ` +
      `sign-in page ${await pageLatency([])} µs with JIT, ${await pageLatency(MDWE)} µs without`,
  );
}
