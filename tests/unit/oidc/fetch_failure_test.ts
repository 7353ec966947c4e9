/**
 * A failed fetch as the logs and the probe tell it: Deno's evidence sits in `cause`, Bun's in the
 * error itself with an OpenSSL code (shapes as measured on Deno 2.9 and Bun 1.4 against a server
 * whose certificate a CA of its own signed); only a chain to no trusted root is "untrusted".
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { systemClock } from "../../../src/clock.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import {
  describeFetchFailure,
  isUntrustedCertificate,
  UNTRUSTED_CERTIFICATE_FIX,
} from "../../../src/oidc/fetch_failure.ts";
import { timedFetch } from "../../../src/oidc/http.ts";

const URL_ = "https://idp.test/realms/vpn/.well-known/openid-configuration";

/** Deno's fetch error: "fetch failed", the rustls verdict two causes down. */
function denoError(verdict: string): TypeError {
  return new TypeError("fetch failed", {
    cause: new Error(
      `error sending request for url (${URL_}?x=secret): client error (Connect): ${verdict}`,
    ),
  });
}

/** Bun's fetch error: the OpenSSL verify result as `code`. */
function bunError(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

Deno.test("isUntrustedCertificate() knows an unknown issuer on Deno and Bun, a self-signed certificate included", () => {
  for (
    const error of [
      denoError("invalid peer certificate: UnknownIssuer"),
      bunError("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"),
      bunError("DEPTH_ZERO_SELF_SIGNED_CERT", "self signed certificate"),
      bunError("SELF_SIGNED_CERT_IN_CHAIN", "self signed certificate in certificate chain"),
      bunError("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unable to get local issuer certificate"),
      new IdpUnreachableError("IdP request failed", {
        cause: denoError("invalid peer certificate: UnknownIssuer"),
      }),
    ]
  ) {
    assertEquals(isUntrustedCertificate(error), true, describeFetchFailure(error));
  }
});

Deno.test("isUntrustedCertificate() leaves a wrong name, an expired certificate and a refused connection alone", () => {
  for (
    const error of [
      denoError('invalid peer certificate: certificate not valid for name "127.0.0.1"'),
      denoError("invalid peer certificate: Expired"),
      bunError("ERR_TLS_CERT_ALTNAME_INVALID", "ERR_TLS_CERT_ALTNAME_INVALID fetching"),
      bunError("CERT_HAS_EXPIRED", "certificate has expired"),
      new TypeError("fetch failed", { cause: new Error("Connection refused (os error 111)") }),
      "not an error",
      undefined,
    ]
  ) {
    assertEquals(isUntrustedCertificate(error), false, describeFetchFailure(error));
  }
});

Deno.test("describeFetchFailure() joins the causes and never keeps a URL's query", () => {
  assertEquals(
    describeFetchFailure(denoError("invalid peer certificate: UnknownIssuer")),
    `fetch failed: error sending request for url (${URL_}): client error (Connect): ` +
      "invalid peer certificate: UnknownIssuer",
  );
  assertEquals(describeFetchFailure(new TypeError("offline")), "offline");
});

Deno.test("a failed IdP request over an untrusted certificate names oidc.tls_ca_file, and Deno's cause", async () => {
  const error = await assertRejects(
    () =>
      timedFetch(
        () => Promise.reject(denoError("invalid peer certificate: UnknownIssuer")),
        5000,
        systemClock,
      )(
        URL_,
        { method: "GET", headers: {}, redirect: "manual" },
      ),
    IdpUnreachableError,
  );
  assertEquals(
    error.message,
    `IdP request failed: ${URL_}: fetch failed: error sending request for url (${URL_}): ` +
      `client error (Connect): invalid peer certificate: UnknownIssuer: ${UNTRUSTED_CERTIFICATE_FIX}`,
  );
});
