/**
 * Two network namespaces (server and client) joined by a veth pair, created fresh for each lab.
 *
 * Nothing here touches the root namespace: the veth pair is created inside the server namespace
 * with its peer placed directly in the client namespace. Each lab takes a slot N (0-249), locked
 * across processes with a file, and uses 10.200.N.0/24 on the veth, 10.201.N.0/24 in the tunnel
 * and 10.202.N.0/24 as a spare network for pushed routes, so concurrent labs never share ranges.
 */

import { run } from "./command.ts";

export interface LabNetwork {
  readonly slot: number;
  readonly serverNs: string;
  readonly clientNs: string;
  readonly serverVethIp: string;
  readonly clientVethIp: string;
  /** Tunnel network for `server <net> 255.255.255.0`, e.g. 10.201.N.0. */
  readonly tunnelNetwork: string;
  readonly tunnelNetmask: string;
  /** The server's own address in the tunnel (first host of the tunnel network). */
  readonly serverTunnelIp: string;
  /** An unused /24 (10.202.N.0) that tests can push as a route. */
  readonly spareNetwork: string;
  /** Kills what still runs inside, then deletes exactly the two namespaces created here. */
  destroy(): Promise<void>;
}

const SLOT_DIR = "/tmp/oao-e2e-slots";
const SLOT_COUNT = 250;

/** Creates both namespaces, the veth pair and addresses; undoes partial work on failure. */
export async function createNetwork(): Promise<LabNetwork> {
  const slot = await claimSlot();
  const prefix = `oao-${Deno.pid}-${slot}`;
  const serverNs = `${prefix}-srv`;
  const clientNs = `${prefix}-cli`;
  const created: string[] = [];
  const destroy = async () => {
    for (const ns of created.splice(0).reverse()) await deleteNamespace(ns);
    await releaseSlot(slot);
  };
  const net = {
    slot,
    serverNs,
    clientNs,
    serverVethIp: `10.200.${slot}.1`,
    clientVethIp: `10.200.${slot}.2`,
    tunnelNetwork: `10.201.${slot}.0`,
    tunnelNetmask: "255.255.255.0",
    serverTunnelIp: `10.201.${slot}.1`,
    spareNetwork: `10.202.${slot}.0`,
    destroy,
  };
  try {
    for (const ns of [serverNs, clientNs]) {
      await run("ip", ["netns", "add", ns]);
      created.push(ns);
    }
    await ip(
      serverNs,
      "link",
      "add",
      "veth-srv",
      "type",
      "veth",
      "peer",
      "name",
      "veth-cli",
      "netns",
      clientNs,
    );
    await ip(serverNs, "addr", "add", `${net.serverVethIp}/24`, "dev", "veth-srv");
    await ip(clientNs, "addr", "add", `${net.clientVethIp}/24`, "dev", "veth-cli");
    for (const [ns, dev] of [[serverNs, "veth-srv"], [clientNs, "veth-cli"]] as const) {
      await ip(ns, "link", "set", "lo", "up");
      await ip(ns, "link", "set", dev, "up");
    }
    return net;
  } catch (error) {
    await destroy();
    throw error;
  }
}

/**
 * A fresh network namespace of this process with only its loopback up: there the whole of
 * 127.0.0.0/8 is the test's own (several client addresses without touching the host's).
 */
export async function createLoopbackNamespace(
  tag: string,
): Promise<{ name: string; destroy(): Promise<void> }> {
  const name = `oao-${Deno.pid}-${tag}`;
  await run("ip", ["netns", "add", name]);
  try {
    await ip(name, "link", "set", "lo", "up");
  } catch (error) {
    await deleteNamespace(name);
    throw error;
  }
  return { name, destroy: () => deleteNamespace(name) };
}

/** Runs `ip -n <ns> ...` and returns stdout. */
export async function ip(ns: string, ...args: string[]): Promise<string> {
  return (await run("ip", ["-n", ns, ...args])).stdout;
}

/** Lists the routes of a namespace, one `ip route` line each. */
export async function routesIn(ns: string): Promise<string[]> {
  return (await ip(ns, "route", "show")).split("\n").filter((line) => line.trim() !== "");
}

/** Names of namespaces created by this process (for leak checks in tests). */
export async function namespacesOfThisProcess(): Promise<string[]> {
  const { stdout } = await run("ip", ["netns", "list"]);
  const mine = `oao-${Deno.pid}-`;
  return stdout.split("\n").map((line) => line.split(" ")[0] ?? "").filter((name) =>
    name.startsWith(mine)
  );
}

async function deleteNamespace(ns: string): Promise<void> {
  // The lab stops its processes first; anything left in a namespace we created is ours too, and
  // a namespace with live processes outlives its name, so kill those by pid before deleting.
  const { stdout } = await run("ip", ["netns", "pids", ns], { allowFailure: true });
  for (const pid of stdout.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await run("ip", ["netns", "del", ns], { allowFailure: true });
}

async function claimSlot(): Promise<number> {
  await Deno.mkdir(SLOT_DIR, { recursive: true });
  const start = Deno.pid % SLOT_COUNT;
  for (let i = 0; i < SLOT_COUNT; i++) {
    const slot = (start + i) % SLOT_COUNT;
    const path = `${SLOT_DIR}/${slot}`;
    try {
      await Deno.writeTextFile(path, String(Deno.pid), { createNew: true });
      return slot;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      // A slot whose owner died (crashed run) may be reused.
      const owner = Number(await Deno.readTextFile(path).catch(() => ""));
      if (owner > 0 && owner !== Deno.pid && !processExists(owner)) {
        await Deno.remove(path).catch(() => {});
        try {
          await Deno.writeTextFile(path, String(Deno.pid), { createNew: true });
          return slot;
        } catch {
          // Another process won the race: keep looking.
        }
      }
    }
  }
  throw new Error(`No free lab slot: all ${SLOT_COUNT} in ${SLOT_DIR} are taken`);
}

async function releaseSlot(slot: number): Promise<void> {
  await Deno.remove(`${SLOT_DIR}/${slot}`).catch(() => {});
}

function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
