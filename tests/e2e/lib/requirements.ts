/**
 * Whether this machine can run the end-to-end tests, as skip reasons a person can act on.
 * Tests pass these to `ignore` and print them once, so a skipped suite never looks like a pass.
 */

import { binarySkipReason } from "./bridge_process.ts";

/** Full path of `name` on PATH (plus the sbin directories, where ip and openvpn live). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Why the lab (namespaces, OpenVPN) cannot run here, or undefined when it can. */
export function labSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (network namespaces)";
  const missing = ["openvpn", "ip", "ping", "openssl"].filter((name) => !findExecutable(name));
  if (missing.length > 0) {
    return `missing ${missing.join(", ")} (apt-get install openvpn iproute2 iputils-ping openssl)`;
  }
  return undefined;
}

/** Why a real browser cannot run here, or undefined when it can. */
export function browserSkipReason(): string | undefined {
  return findExecutable("chromium") === undefined
    ? "missing chromium (apt-get install chromium)"
    : undefined;
}

/** Why the lab plus a real browser cannot run here, or undefined when they can. */
export function browserLabSkipReason(): string | undefined {
  return labSkipReason() ?? browserSkipReason();
}

/** Why the lab, the browser and the compiled bridge binary cannot run here. */
export function binaryLabSkipReason(): string | undefined {
  return browserLabSkipReason() ?? binarySkipReason();
}

/** Prints the skip reason (once per file) and returns it, for `ignore: reason !== undefined`. */
export function announceSkip(what: string, reason: string | undefined): string | undefined {
  if (reason !== undefined) console.warn(`Skipping ${what}: ${reason}`);
  return reason;
}
