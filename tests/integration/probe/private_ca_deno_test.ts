/**
 * README, "Certificate authorities", on Deno (the sources, `make run`): its default roots are
 * its bundled Mozilla ones, the system's store (SSL_CERT_FILE standing in for /etc/ssl/certs)
 * only with DENO_TLS_CA_STORE=mozilla,system; `oidc.tls_ca_file` adds to whichever it uses.
 */
import { assertMatch } from "../../support/assert.ts";
import { withPrivateCaIdp } from "../../support/private_ca_idp.ts";

const MAIN = new URL("../../../src/main.ts", import.meta.url).pathname;
const DENO = [Deno.execPath(), "run", "--allow-all", MAIN];
const PASSED = /^ok {4}idp discovery /;

Deno.test("on Deno an IdP's private CA is trusted from oidc.tls_ca_file, or from the system's store with DENO_TLS_CA_STORE=mozilla,system only", async () => {
  await withPrivateCaIdp(async ({ caFile, otherCaFile, discoveryLine }) => {
    const system = { DENO_TLS_CA_STORE: "mozilla,system", SSL_CERT_FILE: caFile };
    assertMatch(
      await discoveryLine(DENO, undefined, { SSL_CERT_FILE: caFile }),
      /^FAIL {2}idp discovery .*invalid peer certificate: UnknownIssuer\. Fix: The IdP's certificate is not signed by a CA this host trusts: set oidc\.tls_ca_file/,
    );
    assertMatch(await discoveryLine(DENO, caFile, {}), PASSED);
    assertMatch(await discoveryLine(DENO, undefined, system), PASSED);
    assertMatch(await discoveryLine(DENO, otherCaFile, system), PASSED);
  });
});
