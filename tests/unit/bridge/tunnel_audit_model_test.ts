/**
 * The tunnels' audit lines (`established`, `client_left`: README, Audit log) against a model of
 * who is on which cid, over random sequences of what OpenVPN 2.6 and its clients do (sign-ins,
 * finished at once or later, gateways on the bypass list, ESTABLISHED, REAUTH, reconnects with
 * the token on a new cid before or after the old tunnel's DISCONNECT, DISCONNECTs) and of what
 * happens around them (an administrator's revoke, the bridge restarts, its link drops and comes
 * back, OpenVPN restarts in place or as a new process). Seeded: a failure names its seed and the
 * actions up to it; tunnel_world.ts says what each action sends.
 *
 * After each action, for every tunnel (one client on one cid in one run of OpenVPN):
 * - its `client_left` names its own user (none for a gateway), as its `established` did: never
 *   another user's;
 * - it has at most one `client_left`, and exactly one when it was up (ESTABLISHED) and the bridge
 *   heard its DISCONNECT; but for a tunnel its client's reconnect left behind, when both the
 *   bridge process that knew it and the session that moved off it are gone by then (README);
 * - its `established` comes after its `admitted` (a sign-in, a reconnect, a bypass: by this
 *   bridge process or an earlier one) and names whom that named.
 */
import { seededRandom } from "../../support/prng.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { type Tunnel, TunnelWorld } from "../../support/tunnel_world.ts";

const USERS = ["alice", "bob", "carol"];
const GATEWAYS = ["gw-1", "gw-2"];
const STEPS = 30;

type Action = { name: string; run: () => Promise<void> };

/** What may happen next, as OpenVPN and its clients allow it, with how often each is tried. */
function possibleActions(world: TunnelWorld, random: () => number): Array<[number, Action]> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const coin = () => random() < 0.5;
  /** An action on one of `items`, picked now; none when there is none. */
  const onOneOf = <T>(items: readonly T[], make: (item: T) => Action) =>
    items.length === 0 ? undefined : make(pick(items));
  const about = (tunnel: Tunnel) => `${tunnel.device.name} (cid ${tunnel.cid})`;
  const live = world.live();
  const authorized = live.filter(({ state }) => state === "authorized");
  const established = live.filter(({ state }) => state === "established");
  const upOrIn = [...authorized, ...established];
  const actions: Array<[number, Action | undefined]> = [
    [
      4,
      onOneOf(world.devices.filter(({ tunnel }) => tunnel === undefined), (device) => {
        if (device.token !== undefined) {
          return {
            name: `${device.name} comes back with its token`,
            run: () => world.comeBack(device),
          };
        }
        const later = !device.bypassed && random() < 0.3;
        return {
          name: `${device.name} connects${later ? ", its user signs in later" : ""}`,
          run: () => world.connect(device, later),
        };
      }),
    ],
    [
      2,
      onOneOf(world.tunnels.filter(({ loginUrl }) => loginUrl !== undefined), (tunnel) => ({
        name: `the user of ${about(tunnel)} finishes its sign-in (the tunnel ${tunnel.state})`,
        run: () => world.finishSignIn(tunnel),
      })),
    ],
    [
      4,
      onOneOf(authorized, (tunnel) => ({
        name: `ESTABLISHED of ${about(tunnel)}`,
        run: () => world.establish(tunnel),
      })),
    ],
    [
      2,
      onOneOf(established, (tunnel) => ({
        name: `REAUTH of ${about(tunnel)}`,
        run: () => world.reauth(tunnel),
      })),
    ],
    // Any tunnel: one left behind by a reconnect times out so.
    [
      3,
      onOneOf(live, (tunnel) => ({
        name: `DISCONNECT of ${about(tunnel)}`,
        run: () => world.leave(tunnel),
      })),
    ],
    [
      3,
      onOneOf(upOrIn.filter(({ device }) => !device.bypassed), (tunnel) => {
        const disconnect = pick(["first", "after", "later"] as const);
        const together = disconnect !== "later" && coin();
        return {
          name: `${about(tunnel)} reconnects with its token, its DISCONNECT ${disconnect}${
            together ? ", handled together" : ""
          }`,
          run: () => world.reconnectWithToken(tunnel, disconnect, together),
        };
      }),
    ],
    [
      1,
      onOneOf(world.devices.filter(({ token }) => token !== undefined), (device) => ({
        name: `an administrator revokes the session of ${device.name}`,
        run: () => world.revoke(device),
      })),
    ],
    [1, linkDrop(world, random, false)],
    [1, linkDrop(world, random, true)],
    [
      0.5,
      (() => {
        const together = coin();
        return {
          name: `OpenVPN restarts in place (SIGHUP)${
            together ? ", DISCONNECTs handled together" : ""
          }`,
          run: () => world.sighup(together),
        };
      })(),
    ],
    [0.5, { name: "OpenVPN restarts as a new process", run: () => world.restartOpenvpn() }],
  ];
  return actions.flatMap(([weight, action]) => action ? [[weight, action]] : []);
}

/** The link drops (with the bridge, when `restartBridge`) and comes back; some tunnels moved meanwhile. */
function linkDrop(world: TunnelWorld, random: () => number, restartBridge: boolean): Action {
  const leaving = new Set(world.live().filter(() => random() < 0.3));
  const establishing = new Set(world.live().filter(() => random() < 0.5));
  const names = (tunnels: Set<Tunnel>) =>
    [...tunnels].map((tunnel) => `${tunnel.device.name} (cid ${tunnel.cid})`).join(", ") ||
    "none";
  return {
    name: `${restartBridge ? "the bridge restarts" : "the link drops"}; meanwhile up: ${
      names(new Set([...establishing].filter(({ state }) => state === "authorized")))
    }; gone: ${names(leaving)}`,
    run: () =>
      world.linkDrops({
        restartBridge,
        leaves: (tunnel) => leaving.has(tunnel),
        establishes: (tunnel) => establishing.has(tunnel),
      }),
  };
}

function choose(actions: Array<[number, Action]>, random: () => number): Action {
  const total = actions.reduce((sum, [weight]) => sum + weight, 0);
  let at = random() * total;
  for (const [weight, action] of actions) {
    at -= weight;
    if (at < 0) return action;
  }
  return actions[actions.length - 1]![1];
}

/** What is wrong with the audit lines of the world's tunnels so far. */
function auditFaults(world: TunnelWorld): string[] {
  const faults: string[] = [];
  for (const line of world.strayLines) {
    const { event, cid, username } = line.properties;
    if (event === "client_left" || event === "established" || event === "admitted") {
      faults.push(`${event} for cid ${cid} (${username}), which no tunnel had then`);
    }
  }
  for (const tunnel of world.tunnels) {
    const what = `tunnel #${tunnel.id} of ${tunnel.device.name} (cid ${tunnel.cid}, ${tunnel.run})`;
    const owner = tunnel.device.bypassed ? "" : tunnel.device.name;
    const lines = (event: string) => tunnel.lines.get(event) ?? [];
    const left = lines("client_left");
    const established = lines("established");
    const admitted = lines("admitted");
    for (const { properties } of [...left, ...established, ...admitted]) {
      const { event, username, commonName } = properties;
      if (username !== owner || commonName !== tunnel.device.name) {
        faults.push(`${what}: ${event} names ${JSON.stringify([username, commonName])}`);
      }
    }
    if (left.length > 1) faults.push(`${what}: ${left.length} client_left lines`);
    const { bridgeRestarted, sessionEnded } = tunnel.forgotten;
    const promised = !(bridgeRestarted && sessionEnded);
    if (tunnel.wasEstablished && tunnel.departureHeard && promised && left.length !== 1) {
      faults.push(`${what}: up and its DISCONNECT heard, yet ${left.length} client_left lines`);
    }
    for (const line of established) {
      if (!admitted.some((admission) => admission.step <= line.step)) {
        faults.push(`${what}: established (step ${line.step}) with no admitted line before it`);
      }
    }
  }
  return faults;
}

/** Plays one seeded sequence of STEPS actions; throws with the seed and the actions on a fault. */
async function playSequence(seed: number): Promise<void> {
  const random = seededRandom(seed);
  const world = new TunnelWorld(random, { users: USERS, gateways: GATEWAYS });
  const capture = captureLogs();
  const played: string[] = [];
  try {
    await world.start();
    for (world.step = 1; world.step <= STEPS; world.step++) {
      const action = choose(possibleActions(world, random), random);
      played.push(`${world.step}. ${action.name}`);
      const before = capture.lines.length;
      await action.run();
      world.fileLines(capture.lines.slice(before));
      const faults = auditFaults(world);
      if (faults.length > 0) {
        throw new Error(
          `Seed ${seed}, step ${world.step}:\n  ${faults.join("\n  ")}\nActions:\n  ${
            played.join("\n  ")
          }`,
        );
      }
    }
  } finally {
    capture.stop();
    world.close();
  }
}

Deno.test("the tunnels' audit lines keep to the model over 300 seeded sequences", async () => {
  for (let seed = 1; seed <= 300; seed++) await playSequence(seed);
});
