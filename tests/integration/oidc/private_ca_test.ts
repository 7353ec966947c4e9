/**
 * An IdP whose certificate a private CA signed (a company CA, as many Keycloak servers have): the
 * test IdP over HTTPS on 127.0.0.1 with a certificate from a CA made for the test. With that CA
 * as `oidc.tls_ca_file` the OIDC client and the back-channel logout's key fetch go through;
 * without it every request fails closed, and the error names the setting.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { makeServerCertificate, type ServerCertificate } from "../../support/certificates.ts";
import { loginOverHttp, startTestIdp, type TestIdp } from "../../support/idp/mod.ts";
import { oidcConfig } from "../../unit/oidc/fake_idp.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { TrustedCaFile } from "../../../src/config/types.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { idpTransport } from "../../../src/oidc/idp_transport.ts";
import { createLogoutVerifier } from "../../../src/oidc/logout_verifier.ts";

const REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback";
const CLIENT_SECRET = "bridge-secret";

interface HttpsIdp {
  idp: TestIdp;
  certificate: ServerCertificate;
  /** The test's browser, which trusts the test CA as a company's browsers trust theirs. */
  browserFetch: typeof fetch;
}

async function withHttpsIdp(body: (setup: HttpsIdp) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "private-ca-test-"));
  const certificate = await makeServerCertificate(dir, "127.0.0.1", "idp");
  const idp = await startTestIdp({
    tls: { cert: certificate.cert, key: certificate.key },
    clients: [{
      clientId: "vpn-bridge",
      clientSecret: CLIENT_SECRET,
      redirectUris: [REDIRECT_URI],
    }],
  });
  const client = Deno.createHttpClient({ caCerts: [certificate.ca] });
  try {
    await body({
      idp,
      certificate,
      browserFetch: (input, init) => fetch(input, { ...init, client }),
    });
  } finally {
    client.close();
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function config(idp: TestIdp, tlsCaFile: TrustedCaFile | undefined) {
  return oidcConfig({
    issuer: new URL(idp.issuer),
    clientSecret: new Secret(CLIENT_SECRET),
    httpTimeoutMs: 5000,
    tlsCaFile,
  });
}

function caFile(certificate: ServerCertificate): TrustedCaFile {
  return { path: certificate.caFile, certificates: [certificate.ca] };
}

Deno.test("with oidc.tls_ca_file the client discovers, exchanges a code, refreshes and revokes at an IdP of a private CA", async () => {
  await withHttpsIdp(async ({ idp, certificate, browserFetch }) => {
    assert(idp.issuer.startsWith("https://127.0.0.1:"), idp.issuer);
    const transport = idpTransport(caFile(certificate));
    const client = createOidcClient(config(idp, caFile(certificate)), REDIRECT_URI, {
      fetch: transport.fetch,
    });
    try {
      const start = await client.startLogin("tag");
      const callback = await loginOverHttp(start.url, {
        username: "alice",
        password: "alice-password",
        redirectUri: REDIRECT_URI,
        fetch: browserFetch,
      });
      const login = await client.finishLogin(callback, start);
      assertEquals(login.claims.preferred_username, "alice");
      assert(client.ready);
      const refreshed = await client.refresh(login.refreshToken!, login.subject);
      await client.revoke(refreshed.refreshToken);
    } finally {
      client.close();
      transport.close();
    }
  });
});

Deno.test("with oidc.tls_ca_file the back-channel logout verifier reads the IdP's keys through it", async () => {
  await withHttpsIdp(async ({ idp, certificate }) => {
    const transport = idpTransport(caFile(certificate));
    const client = createOidcClient(config(idp, caFile(certificate)), REDIRECT_URI, {
      fetch: transport.fetch,
    });
    try {
      const verify = createLogoutVerifier(config(idp, caFile(certificate)), {
        discover: client.discover,
        get: client.get,
        now: Date.now,
      });
      // The IdP's own key id with a signature it never made: refused for the signature, which
      // is checked only once the keys were read.
      const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "");
      const header = { alg: "RS256", typ: "logout+jwt", kid: idp.jwks.keys[0]!.kid };
      const token = `${encode(header)}.${encode({ iss: idp.issuer })}.AAAA`;
      const error = await assertRejects(() => verify(token));
      assertStringIncludes(String(error), "signature verification failed");
    } finally {
      client.close();
      transport.close();
    }
  });
});

Deno.test("without oidc.tls_ca_file an IdP of a private CA is refused at discovery, the error naming the setting", async () => {
  await withHttpsIdp(async ({ idp }) => {
    const transport = idpTransport(undefined);
    const client = createOidcClient(config(idp, undefined), REDIRECT_URI, {
      fetch: transport.fetch,
    });
    try {
      const error = await assertRejects(() => client.startLogin("tag"), IdpUnreachableError);
      assertStringIncludes(error.message, `IdP request failed: ${idp.issuer}/.well-known`);
      assertStringIncludes(error.message, "set oidc.tls_ca_file to the PEM file of the CA");
      assertEquals(client.ready, false);
    } finally {
      client.close();
      transport.close();
    }
  });
});
