/** The test IdP (tests/support/idp/main.ts) as a separate process, for CPU accounting. */
import { freePort } from "../../tests/support/free_port.ts";
import { dirname, fromFileUrl, join } from "../lib/paths.ts";
import { type Child, DENO, startChild } from "../lib/proc.ts";

export const IDP_CLIENT_SECRET = "bench-client-secret";
const IDP_MAIN = join(
  dirname(fromFileUrl(import.meta.url)),
  "..",
  "..",
  "tests/support/idp/main.ts",
);

export interface IdpProcess {
  child: Child;
  issuer: string;
}

/** `pbkdf2Iterations`: check passwords like Keycloak (PBKDF2-SHA512); default plain compare. */
export async function startIdpProcess(
  redirectUri: string,
  pbkdf2Iterations = 0,
): Promise<IdpProcess> {
  const port = await freePort();
  const child = startChild(DENO, [
    "run",
    "-A",
    IDP_MAIN,
    "--port",
    String(port),
    "--client-secret",
    IDP_CLIENT_SECRET,
    "--redirect-uri",
    redirectUri,
    "--pbkdf2-iterations",
    String(pbkdf2Iterations),
  ]);
  const line = await child.waitForOutput((l) => l.startsWith("issuer: "), 60_000);
  return { child, issuer: line.slice("issuer: ".length).trim() };
}
