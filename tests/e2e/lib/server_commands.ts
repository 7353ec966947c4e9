/**
 * The client-auth/deny commands an OpenVPN server of the lab received, from its log: it echoes
 * every management command (`MANAGEMENT: CMD '...'`), so this is what OpenVPN was told, whatever
 * the bridge logs at its level.
 */

import type { OpenVpnServer } from "./openvpn_server.ts";

/** One `client-...` command as the OpenVPN server logged it. */
export interface ServerCommand {
  readonly verb: string;
  readonly cid: number;
  readonly kid: number;
  readonly text: string;
}

/** The client commands `server` received with a cid and a key id, in order. */
export async function serverCommands(server: OpenVpnServer): Promise<ServerCommand[]> {
  const log = await server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '((client-[a-z-]+) (\d+) (\d+)[^']*)'/g)].map((m) => ({
    text: m[1]!,
    verb: m[2]!,
    cid: Number(m[3]),
    kid: Number(m[4]),
  }));
}

/**
 * Whether `command` answers a renegotiation (REAUTH) with `client-auth-nt`: a client's first
 * CONNECT has key id 1, its REAUTHs others.
 */
export function isReauthAnswer(command: ServerCommand): boolean {
  return command.verb === "client-auth-nt" && command.kid !== 1;
}
