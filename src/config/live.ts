/**
 * Reloading: which keys change while the service runs, and the config a reload puts in force.
 * Live: the policy ([authorization], [[client_config]], each server's own, the claim names),
 * each server's bypass list, sign-in timeout, pending sign-ins per address, username policy and
 * WEB_AUTH flags (unless base_url changed too: see below), pages (templates, language, confirm
 * step, trusted proxies), the TLS certificate, [log] and [metrics]. Everything else (management
 * address, store, IdP client, base URL, secret, listen address) keeps its old value until a
 * restart, with a warning.
 */
import type { ResolvedConfig } from "./types.ts";

/** The config now in force; parts that must see reloads read it through this holder. */
export class CurrentConfig {
  #config: ResolvedConfig;

  constructor(config: ResolvedConfig) {
    this.#config = config;
  }

  get value(): ResolvedConfig {
    return this.#config;
  }

  /** Swaps in a whole new config at once: a reader sees either the old or the new one. */
  replace(config: ResolvedConfig): void {
    this.#config = config;
  }
}

/**
 * The config to run with after a reload: `next` where a key can change live, `old` elsewhere,
 * and the keys (TOML names) that changed but cannot change live.
 */
export function mergeReload(
  old: ResolvedConfig,
  next: ResolvedConfig,
): { config: ResolvedConfig; kept: string[] } {
  const config: ResolvedConfig = {
    ...old,
    // Servers cannot be added or removed while running; each keeps its link settings and
    // takes its live keys from the server of the same name, when the new file still has it.
    // One the new file no longer has runs on until a restart: under the new [authorization]
    // and [[client_config]] where it followed them (a tightened policy reaches it too), under
    // its own where it had one (the new top-level policy may be looser than that).
    servers: old.servers.map((server) => {
      const same = next.servers.find((candidate) => candidate.name === server.name);
      if (same === undefined) {
        return {
          ...server,
          authorization: server.authorization === old.authorization
            ? next.authorization
            : server.authorization,
          clientConfig: server.clientConfig === old.clientConfig
            ? next.clientConfig
            : server.clientConfig,
        };
      }
      return {
        ...server,
        // The new flags were checked against the new base_url's length (they count toward
        // WEB_AUTH's limit); the old base_url stays in force until a restart, so with another
        // base_url they wait for it: with the old one they could make every login URL too long.
        webAuthFlags: next.http.baseUrl.href === old.http.baseUrl.href
          ? same.webAuthFlags
          : server.webAuthFlags,
        bypassCommonNames: same.bypassCommonNames,
        authPendingTimeoutMs: same.authPendingTimeoutMs,
        maxPendingPerAddress: same.maxPendingPerAddress,
        usernamePolicy: same.usernamePolicy,
        authorization: same.authorization,
        clientConfig: same.clientConfig,
      };
    }),
    http: {
      ...old.http,
      tlsCertFile: next.http.tlsCertFile,
      tlsKeyFile: next.http.tlsKeyFile,
      trustedProxies: next.http.trustedProxies,
      confirmLogin: next.http.confirmLogin,
      templatesDir: next.http.templatesDir,
      defaultLanguage: next.http.defaultLanguage,
    },
    oidc: {
      ...old.oidc,
      usernameClaim: next.oidc.usernameClaim,
      groupsClaim: next.oidc.groupsClaim,
      rolesClaim: next.oidc.rolesClaim,
    },
    authorization: next.authorization,
    clientConfig: next.clientConfig,
    metrics: next.metrics,
    log: next.log,
  };
  // A server only one of the files has is named once, not key by key: a removed one's keys
  // are not all "kept" (its policy may follow the new file, above), and an added one's link
  // is what waits, not each key.
  const nextNames = new Set(next.servers.map((server) => server.name));
  const oldNames = new Set(old.servers.map((server) => server.name));
  const inBoth = (config: ResolvedConfig): ResolvedConfig => ({
    ...config,
    servers: config.servers.filter(({ name }) => nextNames.has(name) && oldNames.has(name)),
  });
  // Keyed by server name unless both files have the one same server: going from two servers
  // to one named every key of the one left as kept.
  const single = old.servers.length === 1 && next.servers.length === 1 &&
    nextNames.has(old.servers[0]!.name);
  const wanted = flatten(inBoth(next), single);
  const merged = flatten(inBoth(config), single);
  const kept = [
    ...[...oldNames].filter((name) => !nextNames.has(name)).map((name) =>
      `openvpn[${name}] (no longer in the file: its link runs until a restart, under the new ` +
      "[authorization] and [[client_config]] where it used the top-level ones)"
    ),
    ...[...merged]
      .filter(([path, value]) => (wanted.get(path) ?? UNSET) !== value)
      .map(([path]) => path),
  ];
  // Keys only the new file sets (a [cluster] turned on) cannot start live either.
  for (const [path, value] of wanted) if (!merged.has(path) && value !== UNSET) kept.push(path);
  for (const name of nextNames) {
    if (!oldNames.has(name)) {
      kept.push(`openvpn[${name}] (new in the file: its link starts at a restart)`);
    }
  }
  return { config, kept };
}

/**
 * Settings objects whose fields are keys of the section itself in TOML: `sessions.password`,
 * not `sessions.redis.password`. A warning must name keys the admin can find in the file.
 */
const INLINED: ReadonlySet<string> = new Set(["sessions.redis"]);

/** How a key one config has and the other lacks (a Redis setting, a [cluster] key) compares. */
const UNSET = comparable(undefined);

/**
 * Leaf values as comparable text, keyed by TOML path (`openvpn.management`). A settings object
 * the config lacks (no Redis, no [cluster]) contributes no keys: they count as unset.
 */
function flatten(config: ResolvedConfig, single: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const server of config.servers) {
    const prefix = single ? "openvpn" : `openvpn[${server.name}]`;
    for (const [key, value] of Object.entries(server)) {
      out.set(`${prefix}.${tomlName(key)}`, comparable(value));
    }
  }
  // [cluster] is on by its presence, which `cluster.enabled` says in the file.
  out.set("cluster.enabled", comparable(config.cluster !== undefined));
  for (const [section, values] of Object.entries(config)) {
    if (section === "servers" || values === undefined) continue;
    if (Array.isArray(values)) {
      out.set(tomlName(section), JSON.stringify(values));
      continue;
    }
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      const path = `${tomlName(section)}.${tomlName(key)}`;
      if (!INLINED.has(path)) {
        out.set(path, comparable(value));
        continue;
      }
      for (const [field, fieldValue] of Object.entries(value ?? {})) {
        out.set(`${tomlName(section)}.${tomlName(field)}`, comparable(fieldValue));
      }
    }
  }
  return out;
}

/**
 * Text that differs when the value does, secrets included (a rotated Redis or management
 * password): a secret's own JSON is "***", so it is read from the holder before its toJSON
 * runs. Compared only, never shown: the warning names keys, never values.
 */
function comparable(value: unknown): string {
  const text = JSON.stringify({ value }, function (this: Record<string, unknown>, key, v) {
    const original = this[key];
    if (original instanceof URL) return original.href;
    if (original instanceof RegExp) return original.source;
    if (original !== null && typeof original === "object" && "reveal" in original) {
      return `secret:${(original as { reveal(): string }).reveal()}`;
    }
    return v;
  });
  return text ?? "undefined";
}

/** `authPendingTimeoutMs` -> `auth_pending_timeout` (units are not part of TOML names). */
function tomlName(key: string): string {
  return key.replace(/(Ms|Sec)$/, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
