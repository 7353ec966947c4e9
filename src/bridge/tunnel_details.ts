/**
 * What OpenVPN's ENV block tells of a client's tunnel, for its audit lines (audit.ts): where it
 * connects from, the address it was given inside the VPN, and, once it left, for how long and
 * how much it sent. Values OpenVPN did not send are
 * left out (the line writes null); a number that is not one is too.
 */
import type { AuditDetails } from "../audit.ts";
import type { ClientEnv } from "../management/events.ts";

/** The client's public address as OpenVPN saw it (IPv4 or IPv6), or empty. */
export function clientAddress(env: ClientEnv): string {
  return env.get("untrusted_ip") ?? env.get("untrusted_ip6") ?? "";
}

/** An ESTABLISHED block's: the client's source port and its VPN addresses. */
export function establishedDetails(env: ClientEnv): AuditDetails {
  const port = whole(env.get("untrusted_port"));
  return {
    clientPort: port !== undefined && port <= 65_535 ? port : undefined,
    virtualIp: env.get("ifconfig_pool_remote_ip"),
    virtualIp6: env.get("ifconfig_pool_remote_ip6"),
  };
}

/**
 * A DISCONNECT block's: how long the client was connected, and the bytes both ways; undefined
 * when it has no `time_duration`, as OpenVPN's empty ENV for a client in its sign-in or refused:
 * no tunnel of the client's came up, so none ended (README, Audit log: no `client_left`).
 */
export function leftDetails(env: ClientEnv): AuditDetails | undefined {
  const duration = env.get("time_duration");
  if (duration === undefined) return undefined;
  return {
    durationSec: whole(duration),
    bytesReceived: whole(env.get("bytes_received")),
    bytesSent: whole(env.get("bytes_sent")),
  };
}

/** Decimal digits only, at most 15 of them (exact as a number): anything else is undefined. */
function whole(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
