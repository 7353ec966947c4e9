/**
 * What the operator reads when the token endpoint refuses a private_key_jwt client
 * (`invalid_client`): the log line of a sign-in and of a refresh (error_mapping.ts'
 * signedJwtRefusal) and `check-config --probe`'s advice (probe/checks.ts) say the same. The key itself passed the config check (private_key.ts),
 * so what is left is what only the IdP knows: the time it reads the assertion at, the key it
 * holds for the client, the audience and algorithm it expects. Keycloak's own word
 * ("Token was issued in the future") reaches the probe's line only: the sign-in's line keeps
 * none of the IdP's text (error_mapping.ts).
 */

/** The likely reasons, as a clause: after "; " in the log line, after a comma in the probe. */
export const SIGNED_JWT_REFUSAL_ADVICE = "the IdP also refuses a signed JWT when this host's " +
  "clock is off from its own (the bridge dates each assertion: keep both on NTP), when it " +
  "holds another key for the client (Keycloak: the certificate in the client's Keys tab; Entra " +
  "ID: the uploaded certificate), or when it expects another audience " +
  "(oidc.client_assertion_audience) or algorithm (oidc.private_key_alg)";
