/**
 * What a `>CLIENT:` ENV block says of a client that presented a certificate: OpenVPN sets
 * `tls_serial_0`, its serial, only then, and only then is `common_name` a certificate's name
 * (src/bridge/certificate_name.ts). The fixtures' ENVs that model certificate clients carry it;
 * one without it is a client that presented none.
 */

/** A serial as OpenVPN writes it (decimal), from tests/fixtures/transcripts/reauth.server-mgmt.txt. */
export const CLIENT_CERTIFICATE_SERIAL = "252579011921966976480308543088318383061745063299";
