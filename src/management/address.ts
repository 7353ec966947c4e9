/** Prints a management address (`tcp://host:port`, `unix:///path`) for logs and errors. */
import type { ManagementAddress } from "../config/types.ts";

export function formatAddress(address: ManagementAddress): string {
  if (address.kind === "unix") return `unix://${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}
