/**
 * Several bridge instances, one service (`[cluster]`): each OpenVPN server's management link is
 * held by one instance at a time under a lease in Redis, and commands decided elsewhere (a
 * callback, a logout, a revoke on another instance) reach OpenVPN through that holder as work
 * items; the holder writes its own directly. Without `[cluster]` none of this runs: links and
 * commands stay local.
 */
import type { Logger } from "@logtape/logtape";
import type { ClientCommander } from "../bridge/commander.ts";
import type { Clock } from "../clock.ts";
import type { ClusterConfig, RedisSettings } from "../config/types.ts";
import {
  connectRedisWithOwnOutageLines,
  describeRedisUrl,
  parseRedisUrl,
  type RedisAddress,
} from "../sessions/redis_connection.ts";
import { deliveryWaitMs, leaseTiming } from "./lease.ts";
import { type HeldLink, LeasedLink } from "./leased_link.ts";
import { heldFirstCommander } from "./held_first_commander.ts";
import { remoteCommander } from "./remote_commander.ts";
import { refusedChannels } from "./refused_channels.ts";
import { refuseClaimedNames } from "./server_name_claims.ts";
import { ClusterKeys, WorkQueue } from "./work_queue.ts";
import { WorkNotifications } from "./work_notifications.ts";

export interface ClusterDeps {
  config: ClusterConfig;
  redis: RedisSettings;
  servers: readonly string[];
  clock: Clock;
  log: Logger;
  build: (server: string, mayWrite: () => boolean) => HeldLink;
  /** How long bridges outside the cluster claim their names (DEFAULT_LEASE_MS); for tests. */
  serverNameClaimMs?: number;
}

export interface Cluster {
  instanceId: string;
  /** Sends commands for `server`: on its link when held here, else through the holder. */
  commander(server: string): ClientCommander;
  /** This server's link is held here and up. */
  linkUp(server: string): boolean;
  /**
   * Clients whose tunnel is up on `server`, when its link is held here and knows
   * (ServerLink.tunnels); undefined otherwise: only the holder's link hears the server's events.
   */
  tunnels(server: string): number | undefined;
  /** The servers whose lease this instance holds. */
  leases(): string[];
  /** This instance holds the lease on `server`. */
  holds(server: string): boolean;
  stop(): Promise<void>;
}

export async function startCluster(deps: ClusterDeps): Promise<Cluster> {
  const { config, clock, log } = deps;
  const redis = await connectRedisWithOwnOutageLines(deps.redis);
  const clusterLog = log.with({ instance: config.instanceId });
  // A live bridge outside the cluster claiming one of our names refuses the start, as it would
  // refuse that bridge's second. Later, no such bridge starts on a name leased here (CLAIM), and
  // no lease is taken on a name one claims (ACQUIRE).
  await refuseClaimedNames({
    redis,
    keyPrefix: deps.redis.keyPrefix,
    servers: deps.servers,
    clock,
    log: clusterLog,
    ...(deps.serverNameClaimMs === undefined ? {} : { claimMs: deps.serverNameClaimMs }),
  }).catch((error) => {
    redis.disconnect();
    throw error;
  });
  const keys = new ClusterKeys(deps.redis.keyPrefix);
  const address = parseRedisUrl(deps.redis.url) as RedisAddress;
  const channelsRefused = (error: unknown) =>
    refusedChannels(
      error,
      describeRedisUrl(address),
      deps.redis.username ?? address.username,
      keys,
    );
  const byChannel = new Map(deps.servers.map((server) => [keys.channel(server), server]));
  const byOutcomeChannel = new Map(
    deps.servers.map((server) => [keys.outcomeChannel(server), server]),
  );
  // Its callbacks run on the subscriber's events, which begin at start() below, once the queue
  // and the links they reach exist.
  const notifications = new WorkNotifications({
    redis,
    channels: [...byChannel.keys(), ...byOutcomeChannel.keys()],
    log: clusterLog,
    onMessage: (channel, message) => {
      const server = byChannel.get(channel);
      if (server !== undefined) links.get(server)?.wake();
      const outcomeOf = byOutcomeChannel.get(channel);
      if (outcomeOf !== undefined) queue.outcomeRecorded(outcomeOf, message);
    },
    // A reconnect's SUBSCRIBE refused the same way (the ACL changed meanwhile) is told so.
    refusal: channelsRefused,
    // Losing or regaining the subscription: drain now and read outcomes now (notifications may
    // have been missed), and let the runners and waiters pick the poll interval for the new
    // state.
    onChange: () => {
      for (const link of links.values()) link.wake();
      queue.wakeAll();
    },
  });
  const notified = () => notifications.up;
  const queue = new WorkQueue(redis, keys, clock, notified);
  const timing = leaseTiming(config.leaseMs);
  const links = new Map(deps.servers.map((server) => [
    server,
    new LeasedLink({
      server,
      instanceId: config.instanceId,
      redis,
      keys,
      queue,
      timing,
      clock,
      log: clusterLog.with({ server }),
      notified,
      build: (mayWrite) => deps.build(server, mayWrite),
    }),
  ]));
  try {
    await notifications.start();
  } catch (error) {
    // Channels the ACL user lacks refuse every script that publishes too (refused_channels.ts):
    // polling would not carry any work, so the start fails and names the fix.
    const refused = channelsRefused(error);
    if (refused !== undefined) {
      notifications.stop();
      redis.disconnect();
      throw refused;
    }
    notifications.warnPollingOnly(error);
  }
  for (const link of links.values()) link.start();
  // A command may wait for a takeover.
  const waitMs = deliveryWaitMs(timing);
  return {
    instanceId: config.instanceId,
    commander: (server) =>
      heldFirstCommander(
        () => links.get(server)?.heldCommander(),
        remoteCommander(queue, server, waitMs),
      ),
    linkUp: (server) => links.get(server)?.linkUp ?? false,
    tunnels: (server) => links.get(server)?.tunnels,
    leases: () => [...links].filter(([, link]) => link.holding).map(([server]) => server),
    holds: (server) => links.get(server)?.holding ?? false,
    async stop() {
      await Promise.all([...links.values()].map((link) => link.stop()));
      notifications.stop();
      redis.disconnect();
    },
  };
}

/**
 * What /readyz says in a cluster: every instance serves sign-in pages, so it is ready when the
 * links it holds are up (holding none is normal for a standby); it names its leases.
 */
export function clusterReadiness(cluster: Cluster): {
  management: boolean;
  servers: Record<string, boolean>;
  cluster: { instance: string; leases: string[] };
} {
  const leases = cluster.leases();
  const servers = Object.fromEntries(leases.map((server) => [server, cluster.linkUp(server)]));
  return {
    management: Object.values(servers).every(Boolean),
    servers,
    cluster: { instance: cluster.instanceId, leases },
  };
}
