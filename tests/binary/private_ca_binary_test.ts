/**
 * README, "Certificate authorities", in the compiled binary (Bun): an IdP whose certificate a
 * private CA signed is trusted through `oidc.tls_ca_file`, or through the system's store, read
 * where OpenSSL reads it (SSL_CERT_FILE stands in for the /etc/ssl/certs that
 * update-ca-certificates fills), the file adding to that store, not replacing it; trusted by
 * neither, `check-config --probe` names the setting.
 */
import { assertMatch } from "../support/assert.ts";
import { withPrivateCaIdp } from "../support/private_ca_idp.ts";
import { BINARY } from "../support/service_process.ts";

const PASSED = /^ok {4}idp discovery /;

Deno.test("the compiled binary trusts an IdP's private CA from oidc.tls_ca_file or the system's store, and names the setting when neither has it", async () => {
  await withPrivateCaIdp(async ({ caFile, otherCaFile, emptyStore, discoveryLine }) => {
    const probe = (file: string | undefined, store: string) =>
      discoveryLine([BINARY], file, { SSL_CERT_FILE: store, SSL_CERT_DIR: emptyStore });
    assertMatch(
      await probe(undefined, emptyStore),
      /^FAIL {2}idp discovery .*unable to verify the first certificate\. Fix: The IdP's certificate is not signed by a CA this host trusts: set oidc\.tls_ca_file/,
    );
    assertMatch(await probe(caFile, emptyStore), PASSED);
    assertMatch(await probe(undefined, caFile), PASSED);
    assertMatch(await probe(otherCaFile, caFile), PASSED);
  });
});
