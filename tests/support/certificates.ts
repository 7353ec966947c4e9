/**
 * Throw-away certificates made with the plain `openssl` command (3.0 or later): an EC P-256 CA
 * and certificates it signs. Used by the e2e lab's PKI (OpenVPN) and by the TLS tests (Redis
 * over TLS, the https listener, the metrics port), as a real deployment has them.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A CA certificate and key in `dir`, as `<file>.crt` and `<file>.key`. */
export async function createCa(
  dir: string,
  file: string,
  commonName: string,
  days = 2,
): Promise<CertificateFiles> {
  const paths = { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) };
  await newCertificate(paths, commonName, days, [], [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return paths;
}

/**
 * A certificate with CN `name` signed by `ca`, in `dir` as `<name>.crt` and `<name>.key`. It is
 * never a CA (rustls refuses a CA certificate as a server's); `extensions` are added as given.
 */
export async function issueCertificate(
  ca: CertificateFiles,
  dir: string,
  name: string,
  extensions: readonly string[],
  days = 2,
): Promise<CertificateFiles> {
  const paths = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  // Without extensions of its own, `req -x509` would copy the CA ones from openssl.cnf.
  await newCertificate(paths, name, days, ["-CA", ca.cert, "-CAkey", ca.key], [
    "basicConstraints=critical,CA:FALSE",
    ...extensions,
  ]);
  return paths;
}

/** A new EC key and its certificate: self-signed, or signed by the CA that `signer` names. */
async function newCertificate(
  paths: CertificateFiles,
  commonName: string,
  days: number,
  signer: readonly string[],
  extensions: readonly string[],
): Promise<void> {
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    paths.key,
    "-out",
    paths.cert,
    "-days",
    String(days),
    "-subj",
    `/CN=${commonName}`,
    ...signer,
    ...extensions.flatMap((extension) => ["-addext", extension]),
  ]);
}

export interface ServerCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The PEM texts of the three files. */
  ca: string;
  cert: string;
  key: string;
}

/** A CA of its own (`<name>-ca`) and a server certificate it signed for `host` (IP or DNS name). */
export async function makeServerCertificate(
  dir: string,
  host: string,
  name = "server",
): Promise<ServerCertificate> {
  const ca = await createCa(dir, `${name}-ca`, `${name} test CA`);
  const server = await issueCertificate(ca, dir, name, [
    `subjectAltName=${isIP(host) ? "IP" : "DNS"}:${host}`,
    "extendedKeyUsage=serverAuth",
  ]);
  const read = (path: string) => readFileSync(path, "utf8");
  return {
    caFile: ca.cert,
    certFile: server.cert,
    keyFile: server.key,
    ca: read(ca.cert),
    cert: read(server.cert),
    key: read(server.key),
  };
}

async function openssl(args: readonly string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args: [...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}
