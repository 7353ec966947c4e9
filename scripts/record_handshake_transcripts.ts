/**
 * Records how a real OpenVPN 2.6 answers the bridge's management handshake, for the handshake
 * tests (tests/unit/management/handshake_test.ts). Each scenario starts `openvpn` with only a
 * management interface (`--dev null`, no tunnel, nothing leaves 127.0.0.1), runs the bridge's
 * own ManagementConnection against it and writes what crossed the socket:
 * `>> ` lines the bridge wrote, `<< ` lines OpenVPN sent, `<~ ` text OpenVPN sent without a line
 * end (the password prompt). The passwords are test values.
 *
 *   deno run -A scripts/record_handshake_transcripts.ts [OUTPUT_DIR]   # needs `openvpn`
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { systemClock } from "../src/clock.ts";
import { Secret } from "../src/config/secret.ts";
import { ManagementConnection } from "../src/management/connection.ts";

interface Scenario {
  name: string;
  /** The management password OpenVPN is started with (none: no password). */
  serverPassword?: string;
  /** The password the bridge sends. */
  bridgePassword?: string;
  hold: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: "handshake-password-hold",
    serverPassword: "rec pass",
    bridgePassword: "rec pass",
    hold: true,
  },
  {
    name: "handshake-wrong-password",
    serverPassword: "rec pass",
    bridgePassword: "not it",
    hold: true,
  },
  { name: "handshake-hold", hold: true },
  { name: "handshake-plain", hold: false },
];

const outputDir = process.argv[2] ?? "tests/fixtures/transcripts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function record(scenario: Scenario): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rec-handshake-"));
  const port = await freePort();
  const args = ["--dev", "null", "--verb", "3", "--management", "127.0.0.1", String(port)];
  if (scenario.serverPassword !== undefined) {
    writeFileSync(join(dir, "pw"), `${scenario.serverPassword}\n`, { mode: 0o600 });
    args.push(join(dir, "pw"));
  }
  if (scenario.hold) args.push("--management-hold");
  const openvpn = spawn("openvpn", args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let received = "";
  const flush = () => {
    const parts = received.split("\n");
    const partial = parts.pop()!;
    for (const part of parts) lines.push(`<< ${part.replace(/\r$/, "")}`);
    if (partial !== "") lines.push(`<~ ${partial}`);
    received = "";
  };
  try {
    await waitForListening(port);
    const connection = new ManagementConnection({
      address: { kind: "tcp", host: "127.0.0.1", port },
      ...(scenario.bridgePassword === undefined
        ? {}
        : { password: new Secret(scenario.bridgePassword) }),
      commandTimeoutMs: 3000,
      reconnectMaxDelayMs: 60_000,
      clock: systemClock,
      createSocket: (address) => {
        const socket = createConnection({
          host: address.kind === "tcp" ? address.host : "",
          port: address.kind === "tcp" ? address.port : 0,
        });
        socket.on("data", (chunk: Buffer | string) => (received += chunk.toString()));
        const write = socket.write.bind(socket) as (data: string) => boolean;
        socket.write = ((data: string) => {
          flush();
          for (const line of data.split("\n").slice(0, -1)) lines.push(`>> ${line}`);
          return write(data);
        }) as typeof socket.write;
        return socket;
      },
    });
    const outcome = new Promise<string>((resolve) => {
      connection.onEvent((event) => {
        if (event.type === "connected") resolve("connected");
        if (event.type === "connect-failed") resolve(`failed: ${event.error.message}`);
      });
    });
    connection.start();
    const result = await outcome;
    // Anything OpenVPN says right after coming up; a failed attempt ends here (no reconnect).
    if (result === "connected") await new Promise((resolve) => setTimeout(resolve, 300));
    await connection.close();
    flush();
    lines.push(`-- ${result}`);
    return `${lines.join("\n")}\n`;
  } finally {
    openvpn.kill("SIGTERM");
    await new Promise((resolve) => openvpn.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      // A probe that connects and leaves at once: OpenVPN serves one client at a time.
      const probe = createConnection({ host: "127.0.0.1", port });
      probe.once("connect", () => {
        probe.destroy();
        resolve(true);
      });
      probe.once("error", () => resolve(false));
    });
    if (ok) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`openvpn did not listen on ${port}`);
}

for (const scenario of SCENARIOS) {
  const text = await record(scenario);
  writeFileSync(join(outputDir, `${scenario.name}.server-mgmt.txt`), text);
  console.log(`${scenario.name}: ${text.trim().split("\n").at(-1)}`);
}
