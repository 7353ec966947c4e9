/**
 * The test IdP over HTTPS, its certificate signed by a CA made for the test (a company CA, as a
 * Keycloak on an internal host has), and `check-config --probe` of a program (the compiled
 * binary, or the sources on Deno) against it, in an environment of the test's own: nothing of
 * this machine's environment (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE) decides which roots it trusts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, makeServerCertificate } from "./certificates.ts";
import { freePort } from "./free_port.ts";
import { startIdpForBridges } from "./idp/mod.ts";

export interface PrivateCaIdp {
  /** The CA that signed the IdP's certificate. */
  caFile: string;
  /** A CA that signed nothing the IdP has. */
  otherCaFile: string;
  /** A file with no certificate, for SSL_CERT_FILE: a system store without the test's CA. */
  emptyStore: string;
  /**
   * The `idp discovery` line of `program` probing the IdP, `caFile` as `oidc.tls_ca_file`, with
   * `env` (and PATH, HOME) as its whole environment.
   */
  discoveryLine(
    program: readonly string[],
    caFile: string | undefined,
    env: Record<string, string>,
  ): Promise<string>;
}

export async function withPrivateCaIdp(body: (idp: PrivateCaIdp) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "private-ca-idp-"));
  try {
    const certificate = await makeServerCertificate(dir, "127.0.0.1", "idp");
    const other = await createCa(dir, "other-ca", "another CA");
    const emptyStore = join(dir, "empty-store.pem");
    writeFileSync(emptyStore, "");
    const port = await freePort();
    const idp = await startIdpForBridges([`http://127.0.0.1:${port}`], "probe-secret", {
      tls: { cert: certificate.cert, key: certificate.key },
    });
    try {
      await body({
        caFile: certificate.caFile,
        otherCaFile: other.cert,
        emptyStore,
        async discoveryLine(program, caFile, env) {
          const config = join(dir, "server.toml");
          writeFileSync(config, probedToml(idp.issuer, port, await freePort(), caFile), {
            mode: 0o600,
          });
          const [command, ...args] = program;
          const output = await new Deno.Command(command!, {
            args: [...args, "check-config", "--probe", "--config", config],
            clearEnv: true,
            env: { PATH: Deno.env.get("PATH") ?? "", HOME: dir, NO_COLOR: "1", ...env },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = new TextDecoder().decode(output.stdout);
          return text.split("\n").find((line) => line.includes("idp discovery")) ??
            `no discovery line: ${text}${new TextDecoder().decode(output.stderr)}`;
        },
      });
    } finally {
      await idp.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A config for the probe: the IdP at `issuer`, OpenVPN on a closed port. */
function probedToml(issuer: string, port: number, closed: number, caFile: string | undefined) {
  return `[openvpn]
management = "tcp://127.0.0.1:${closed}"
password = "x"
[http]
listen = "127.0.0.1:${port}"
base_url = "http://127.0.0.1:${port}"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "${issuer}"
client_id = "openvpn"
client_secret = "probe-secret"
http_timeout = "3s"
${caFile === undefined ? "" : `tls_ca_file = "${caFile}"`}
[sessions]
backend = "memory"
[control]
socket = ""
`;
}
