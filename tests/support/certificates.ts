/**
 * A private CA and a server certificate it signed, made with the openssl command, for the TLS
 * tests (Redis over TLS, the https listener, the metrics port), as a real deployment has them.
 * The server's certificate is not a CA: rustls refuses a CA certificate as a server's.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

export interface ServerCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The PEM texts of the three files. */
  ca: string;
  cert: string;
  key: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Writes `<name>-ca.pem`, `<name>.pem` and `<name>.key` (for `host`: an IP or a DNS name). */
export async function makeServerCertificate(
  dir: string,
  host: string,
  name = "server",
): Promise<ServerCertificate> {
  const file = (suffix: string) => join(dir, `${name}${suffix}`);
  const [caFile, caKey, certFile, keyFile, csr, ext] = [
    file("-ca.pem"),
    file("-ca.key"),
    file(".pem"),
    file(".key"),
    file(".csr"),
    file(".cnf"),
  ];
  await openssl(
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
  );
  await openssl("req", ...EC_KEY, "-keyout", keyFile, "-out", csr, "-subj", `/CN=${host}`);
  writeFileSync(
    ext,
    `subjectAltName=${isIP(host) ? "IP" : "DNS"}:${host}\nbasicConstraints=CA:FALSE\n`,
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    ext,
  );
  const read = (path: string) => readFileSync(path, "utf8");
  return { caFile, certFile, keyFile, ca: read(caFile), cert: read(certFile), key: read(keyFile) };
}

async function openssl(...args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
}
