/**
 * check-config's printable copy with every secret key of the schema set at once: each prints
 * as `***` and no value appears anywhere, the Redis URL and the new sections included.
 */
import { generateKeyPairSync } from "node:crypto";
import { assert, assertEquals } from "../../support/assert.ts";
import { parseConfig } from "../../../src/config_loader/load.ts";
import { SCHEMA, type SectionSpec, SERVER_SPEC } from "../../../src/config_loader/schema.ts";

const PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey
  .export({ type: "pkcs8", format: "pem" }).toString();

/** Every secret key, by `section.key`, with a value that must never be printed. */
const VALUES: Record<string, string> = {
  "openvpn.password": "mgmt-pass-417",
  "http.secret": "http-secret-417-0123456789abcdef0123",
  "oidc.client_secret": "client-secret-417",
  "oidc.private_key": PRIVATE_KEY,
  "sessions.encryption_key": "4".repeat(64),
  "sessions.password": "redis-pass-417",
};

const SOURCE = `
[openvpn]
management = "tcp://127.0.0.1:7505"
password = "${VALUES["openvpn.password"]}"

[http]
base_url = "https://vpn.example.com"
secret = "${VALUES["http.secret"]}"

[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "${VALUES["oidc.client_secret"]}"
client_auth_method = "private_key_jwt"
private_key = """
${PRIVATE_KEY}"""

[sessions]
backend = "redis"
url = "rediss://vpn-bridge@redis.example.com:6380/0"
password = "${VALUES["sessions.password"]}"
encryption_key = "${VALUES["sessions.encryption_key"]}"

[control]
socket = "/run/openvpn-auth-oidc/control.sock"

[metrics]
listen = "127.0.0.1:9101"
`;

function secretKeys(): string[] {
  const sections: Array<[string, SectionSpec]> = [
    ["openvpn", SERVER_SPEC],
    ...Object.entries(SCHEMA) as Array<[string, SectionSpec]>,
  ];
  return sections.flatMap(([section, spec]) =>
    Object.entries(spec).filter(([, key]) => key.type === "secret").map(([key]) =>
      `${section}.${key}`
    )
  );
}

Deno.test("check-config's printable copy shows every secret key as *** and no secret value", () => {
  assertEquals(secretKeys().sort(), Object.keys(VALUES).sort(), "a secret key this test misses");
  const { printable } = parseConfig(SOURCE, "test.toml", {
    env: {},
    readTextFile: (path) => {
      throw new Error(`unexpected read of ${path}`);
    },
  });
  const text = JSON.stringify(printable);
  for (const [path, value] of Object.entries(VALUES)) {
    const [section, key] = path.split(".") as [string, string];
    assertEquals((printable[section] as Record<string, unknown>)[key], "***", path);
    const probe = value.includes("BEGIN") ? value.split("\n")[1]!.slice(0, 40) : value;
    assert(!text.includes(probe), `${path} printed`);
  }
  assert(text.includes("rediss://vpn-bridge@redis.example.com:6380/0"));
});

Deno.test("a Secret prints as *** through Bun's console and node:util, which the binary uses", async () => {
  // Bun (the released binary) and Node libraries inspect through the Node symbol, not Deno's.
  const secretUrl = new URL("../../../src/config/secret.ts", import.meta.url).href;
  const script = `
    import { format, inspect } from "node:util";
    import { Secret } from ${JSON.stringify(secretUrl)};
    const secret = new Secret("redis-pass-417");
    console.log(secret, { sessions: { password: secret } });
    console.log(inspect(secret), inspect({ secret }, { depth: 5 }));
    console.log(format("%s %o %O", secret, secret, { secret }));
  `;
  const { success, stdout, stderr } = await new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: ["-e", script],
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(success, true, new TextDecoder().decode(stderr));
  assert(!out.includes("redis-pass-417"), out);
  assertEquals(out.split("***").length - 1, 7, out);
});
