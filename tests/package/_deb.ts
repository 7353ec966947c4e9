/**
 * The Debian package under test (built by `make deb`) and small readers for what dpkg-deb and
 * systemd tell about it.
 */

import { BRIDGE_BINARY, REPO_ROOT } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { findExecutable } from "../e2e/lib/requirements.ts";
import { assert } from "../support/assert.ts";
import { ARM64_BINARY } from "../support/service_process.ts";
import { VERSION } from "../../src/version.ts";

export const PACKAGE = "openvpn-auth-oidc";
export const UNIT_PATH = "/lib/systemd/system/openvpn-auth-oidc.service";
export const CONFFILE = "/etc/openvpn-auth-oidc/server.toml";
export const STATE_DIR = "/var/lib/openvpn-auth-oidc";
/**
 * Held by every test that installs the package: it is machine-wide, so runs from other checkouts
 * on this host wait their turn.
 */
export const INSTALL_LOCK_FILE = "/run/lock/openvpn-auth-oidc-package-test.lock";

/** The packages `make test-package` builds (scripts/build-deb.sh), by Debian architecture. */
export const DEBS = [
  { arch: "amd64", binary: BRIDGE_BINARY, target: "deb" },
  { arch: "arm64", binary: ARM64_BINARY, target: "deb-arm64" },
] as const;

export type Deb = (typeof DEBS)[number];

/** This machine's Debian architecture: the package the install tests install. */
export async function architecture(): Promise<string> {
  return (await run("dpkg", ["--print-architecture"])).stdout.trim();
}

export async function debPath(arch?: string): Promise<string> {
  return `${REPO_ROOT}dist/${PACKAGE}_${VERSION}_${arch ?? await architecture()}.deb`;
}

/** Why the package tests of `deb` (this machine's by default) cannot run here, or undefined. */
export async function debSkipReason(deb?: Deb): Promise<string | undefined> {
  if (findExecutable("dpkg-deb") === undefined) return "missing dpkg-deb (not a Debian host)";
  const path = await debPath(deb?.arch);
  try {
    if (Deno.statSync(path).isFile) return undefined;
  } catch {
    // Reported below.
  }
  return `missing ${path} (run make ${deb?.target ?? "deb"})`;
}

/** Fails unless the package is absent: a test that installs it purges it at the end. */
export async function assertNotInstalled(): Promise<void> {
  const status = await run("dpkg-query", ["-W", "-f=${Status}", PACKAGE], {
    allowFailure: true,
  });
  assert(
    status.stdout === "" || status.stdout.endsWith("not-installed"),
    `${PACKAGE} is on this machine (${status.stdout}); the test installs and purges it, ` +
      `so remove it first: dpkg --purge ${PACKAGE}`,
  );
}

export interface Account {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** The passwd entry of `name`, or undefined when there is none. */
export async function account(name: string): Promise<Account | undefined> {
  const result = await run("getent", ["passwd", name], { allowFailure: true });
  if (result.code !== 0) return undefined;
  const [, , uid, gid, , home, shell] = result.stdout.trim().split(":");
  return { uid: Number(uid), gid: Number(gid), home: home!, shell: shell! };
}

export interface ArchiveEntry {
  readonly mode: string;
  readonly owner: string;
  readonly size: number;
}

/** `dpkg-deb --contents` as path -> entry (paths absolute, directories with a trailing /). */
export function parseContents(listing: string): Map<string, ArchiveEntry> {
  const entries = new Map<string, ArchiveEntry>();
  for (const line of listing.split("\n")) {
    const match = /^(\S+) (\S+)\s+(\d+) \S+ \S+ \.(\/\S*)$/.exec(line);
    if (match === null) continue;
    entries.set(match[4]!, { mode: match[1]!, owner: match[2]!, size: Number(match[3]) });
  }
  return entries;
}

/** A unit file's `[Service]` (or other section) settings: key -> every value given. */
export function parseUnitSection(text: string, section: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = header[1]!;
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq).trim();
    settings.set(key, [...settings.get(key) ?? [], line.slice(eq + 1).trim()]);
  }
  return settings;
}

/** Files of the package's data archive, by absolute path (one extraction: it is large). */
export async function readFromDeb(deb: string, paths: readonly string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "deb-" });
  try {
    await run("dpkg-deb", ["--extract", deb, dir]);
    return await Promise.all(paths.map((path) => Deno.readTextFile(`${dir}${path}`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
