/**
 * Every ```toml block of README.md and docs/*.md loads as the service would load it: added to the
 * smallest config it completes, with the files it names held in memory, it gives no issue and no
 * warning. A block must be registered below (by its file and first line), so a new one cannot go
 * unchecked, and a registered block that is gone fails too.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { createCa } from "../../support/certificates.ts";
import { HTTP_OIDC_TOML, MINIMAL_TOML } from "../../support/config_toml.ts";
import { documentationBlocks, type FencedBlock } from "../../support/markdown_blocks.ts";
import { parseConfig } from "../../../src/config_loader/load.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";

interface RegisteredBlock {
  file: string;
  /** The block's first line, which finds it. */
  firstLine: string;
  /** The config the block is added to: the smallest one it completes. */
  base: string;
  /** The files the block names, by path, and what they hold here. */
  files: Record<string, string>;
  /** A value or two of the block, as the service resolves them. */
  check(config: ResolvedConfig): void;
}

const REDIS_PASSWORD = "/etc/openvpn-auth-oidc/redis-password";
const IDP_CA = "/etc/openvpn-auth-oidc/idp-ca.pem";
/** A CA certificate for the block naming IDP_CA: the service reads it at load. */
const IDP_CA_PEM = await (async () => {
  const dir = Deno.makeTempDirSync();
  try {
    return Deno.readTextFileSync((await createCa(dir, "idp", "corp CA")).cert);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

const REGISTERED: RegisteredBlock[] = [
  {
    file: "README.md",
    firstLine: "[sessions]", // Sessions in Redis or Valkey
    base: MINIMAL_TOML,
    files: { [REDIS_PASSWORD]: "redis-pass\n" },
    check: ({ sessions }) => {
      assertEquals(sessions.backend, "redis");
      assertEquals(sessions.redis?.password?.reveal(), "redis-pass");
      assertEquals([sessions.redis?.keyPrefix, sessions.redis?.storeTimeoutMs], [
        "openvpn-auth-oidc:",
        2_000,
      ]);
    },
  },
  {
    file: "README.md",
    firstLine: "[[openvpn]]", // Several OpenVPN servers
    base: HTTP_OIDC_TOML,
    files: { "/etc/openvpn-auth-oidc/tcp-management-password": "mgmt-pass\n" },
    check: ({ servers }) => {
      assertEquals(servers.map((server) => server.name), ["udp", "tcp"]);
      const tcp = servers[1]!;
      assertEquals(tcp.authPendingTimeoutMs, 120_000);
      assertEquals(tcp.password?.reveal(), "mgmt-pass");
      assertEquals(tcp.authorization.allowedGroups, ["/staff/vpn-admins"]);
      assertEquals(servers[0]!.authorization.allowedGroups, []);
    },
  },
  {
    file: "README.md",
    firstLine: "[oidc]", // Certificate authorities
    base: MINIMAL_TOML.slice(0, MINIMAL_TOML.indexOf("[oidc]")),
    files: { "/etc/openvpn-auth-oidc/client-secret": "s3cret\n", [IDP_CA]: IDP_CA_PEM },
    check: ({ oidc }) => {
      assertEquals(oidc.tlsCaFile, { path: IDP_CA, certificates: [IDP_CA_PEM] });
    },
  },
  {
    file: "docs/cluster.md",
    firstLine: "[sessions]",
    base: MINIMAL_TOML,
    files: { [REDIS_PASSWORD]: "redis-pass\n" },
    check: ({ cluster, sessions }) => {
      assertEquals(cluster, { instanceId: "bridge-1", leaseMs: 10_000 });
      assertEquals(sessions.redis?.url, "redis://redis.internal:6379/0");
    },
  },
  {
    file: "docs/migrating-from-openvpn-auth-oauth2.md",
    firstLine: "[openvpn]", // A migrated config: complete on its own
    base: "",
    files: {
      "/etc/openvpn-auth-oidc/http-secret": "0123456789abcdef0123456789abcdef\n",
      "/etc/openvpn-auth-oidc/client-secret": "s3cret\n",
    },
    check: ({ oidc, sessions }) => {
      assertEquals([oidc.clientAuthMethod, oidc.rolesClaim], ["client_secret_post", "roles"]);
      assertEquals([sessions.lifetimeMs, sessions.reauthCheck], [8 * 3_600_000, "refresh"]);
    },
  },
];

const BLOCKS = documentationBlocks("toml");

function firstLine(block: FencedBlock): string {
  return block.text.split("\n")[0]!.trim();
}

function registered(block: FencedBlock): RegisteredBlock | undefined {
  return REGISTERED.find((entry) =>
    entry.file === block.file && entry.firstLine === firstLine(block)
  );
}

Deno.test("every ```toml block of README.md and docs/*.md is registered here, once, and every registered block is there", () => {
  const where = (block: FencedBlock) => `${block.file}:${block.line} (${firstLine(block)})`;
  const unregistered = BLOCKS.filter((block) => registered(block) === undefined).map(where);
  assertEquals(unregistered, [], "register these blocks in tests/unit/docs/toml_blocks_test.ts");
  const found = BLOCKS.map((block) => registered(block));
  assertEquals(new Set(found).size, found.length, "two blocks match one entry: tell them apart");
  const gone = REGISTERED.filter((entry) => !found.includes(entry))
    .map((entry) => `${entry.file} (${entry.firstLine})`);
  assertEquals(gone, [], "registered blocks no longer in the docs");
});

for (const block of BLOCKS) {
  const entry = registered(block);
  if (entry === undefined) continue; // failed above
  Deno.test(`${block.file}:${block.line}: the \`\`\`toml block ${firstLine(block)} loads with no issue`, () => {
    const read: string[] = [];
    const source = `${entry.base}\n${block.text}`;
    // Issues give lines of `source`: say where the block starts in it.
    const name = `${block.file}:${block.line}'s block from line ${
      entry.base.split("\n").length + 1
    }`;
    const { config, warnings } = parseConfig(source, name, {
      env: {},
      readTextFile: (path) => {
        read.push(path);
        const text = entry.files[path];
        assert(text !== undefined, `the block reads ${path}, which its entry does not name`);
        return text;
      },
    });
    assertEquals(warnings, []);
    assertEquals(read.sort(), Object.keys(entry.files).sort());
    entry.check(config);
  });
}
