/**
 * `oidc.tls_ca_file`: the CAs an IdP's certificate may chain to besides the default roots, read
 * when the config loads (start, check-config, each reload), so that a file the service cannot
 * use fails check-config at its key and line, never at the first sign-in.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { createCa } from "../../support/certificates.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import { mergeReload } from "../../../src/config/live.ts";

const CA_FILE = "/etc/oa/idp-ca.pem";
const WITH_CA = MINIMAL_TOML.replace("[oidc]", `[oidc]\ntls_ca_file = "${CA_FILE}"`);
const VARIABLE = "OPENVPN_AUTH_OIDC_OIDC_TLS_CA_FILE";

/** Two CA certificates made by openssl, as PEM. */
async function twoCas(): Promise<[string, string]> {
  const dir = mkdtempSync(join(tmpdir(), "idp-ca-test-"));
  try {
    const read = async (name: string) =>
      readFileSync((await createCa(dir, name, `${name} CA`)).cert, "utf8");
    return [await read("corp"), await read("other")];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Path and message of each issue loading WITH_CA, the CA file holding `text`. */
function issuesWith(text: string | undefined, env: Record<string, string> = {}) {
  const files = text === undefined ? {} : { [CA_FILE]: text };
  return configIssuesOf(WITH_CA, env, files).map(({ path, message, line }) => ({
    path,
    message,
    line,
  }));
}

Deno.test("oidc.tls_ca_file: a bundle's certificates are read, comments between them left out", async () => {
  const [corp, other] = await twoCas();
  const bundle = `# corp root\n${corp}subject=CN = other CA\n${other}`;
  const { config } = parseTestConfig(WITH_CA, {}, { [CA_FILE]: bundle });
  assertEquals(config.oidc.tlsCaFile, { path: CA_FILE, certificates: [corp, other] });
  assertEquals(parseTestConfig(MINIMAL_TOML).config.oidc.tlsCaFile, undefined);
});

Deno.test("oidc.tls_ca_file: a file that cannot be read is refused at its line, or at its variable", () => {
  assertEquals(issuesWith(undefined), [{
    path: "oidc.tls_ca_file",
    message: `Cannot read ${CA_FILE}: ENOENT: no such file "${CA_FILE}"`,
    line: 10,
  }]);
  const fromEnv = configIssuesOf(MINIMAL_TOML, { [VARIABLE]: CA_FILE });
  assertEquals(fromEnv.map(({ path, message }) => ({ path, message })), [{
    path: "oidc.tls_ca_file",
    message: `Cannot read ${CA_FILE}: ENOENT: no such file "${CA_FILE}" (from ${VARIABLE})`,
  }]);
});

Deno.test("oidc.tls_ca_file: no certificate, a key, a block cut short or a certificate that is no X.509 is refused, the content never quoted", async () => {
  const [corp] = await twoCas();
  const body = corp.split("\n").slice(1, -2).join("\n");
  const key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n" +
    "-----END PRIVATE KEY-----\n";
  const cases: Array<[string, string | RegExp]> = [
    ["", `${CA_FILE} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
    ["0\x82\x01\x0f0\x81\xb6", `${CA_FILE} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
    [
      `${corp}${key}`,
      `${CA_FILE} holds a PRIVATE KEY, not only certificates: give the CA's certificate`,
    ],
    [
      `-----BEGIN CERTIFICATE-----\n${body}\n`,
      `${CA_FILE} is not PEM: a BEGIN line has no END line`,
    ],
    [
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
      new RegExp(`^${CA_FILE}: certificate 1 cannot be read: `),
    ],
  ];
  for (const [text, expected] of cases) {
    const issues = issuesWith(text);
    assertEquals(issues.map(({ path }) => path), ["oidc.tls_ca_file"], text);
    if (typeof expected === "string") assertEquals(issues[0]!.message, expected);
    else assertMatch(issues[0]!.message, expected);
    for (const secretPart of ["MIGHAgEAMBMG", body.slice(0, 20)]) {
      assertEquals(issues[0]!.message.includes(secretPart), false, issues[0]!.message);
    }
  }
});

Deno.test("oidc.tls_ca_file: a reload reads it again; another CA in it, or another file, waits for a restart and is named", async () => {
  const [corp, other] = await twoCas();
  const old = parseTestConfig(WITH_CA, {}, { [CA_FILE]: corp }).config;
  const same = parseTestConfig(WITH_CA, {}, { [CA_FILE]: corp }).config;
  assertEquals(mergeReload(old, same).kept, []);
  const renewed = parseTestConfig(WITH_CA, {}, { [CA_FILE]: other }).config;
  const merged = mergeReload(old, renewed);
  assertEquals(merged.kept, ["oidc.tls_ca_file"]);
  assertEquals(merged.config.oidc.tlsCaFile, old.oidc.tlsCaFile);
  const moved = parseTestConfig(WITH_CA.replace(CA_FILE, "/etc/oa/ca-2.pem"), {}, {
    "/etc/oa/ca-2.pem": corp,
  }).config;
  assertEquals(mergeReload(old, moved).kept, ["oidc.tls_ca_file"]);
});
