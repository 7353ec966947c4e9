/** Prints a management address (`tcp://host:port`, `unix:///path`) for logs and errors. */
import type { ManagementAddress } from "../config/types.ts";
import { hostAndPort } from "../ip_address.ts";

export function formatAddress(address: ManagementAddress): string {
  if (address.kind === "unix") return `unix://${address.path}`;
  return `tcp://${hostAndPort(address.host, address.port)}`;
}
