/**
 * The name of a client's certificate, as a `>CLIENT:` ENV block carries it: its `common_name`,
 * but only when the client presented a certificate. A client that presented none (a server with
 * `verify-client-cert none` or `optional`) has no certificate name: its `common_name`, when it
 * has one, is the user name it typed, which `username-as-common-name` copies in after its first
 * authentication (measured with 2.6.14: its CONNECT has no `common_name`, its REAUTHs have
 * `common_name=<user name>`). Taken as a certificate name, that typed name would not match the
 * session signed in without one (every renegotiation denied), and would be matched against
 * `bypass_common_names` and `common_name_claim` as if a CA had issued it.
 *
 * OpenVPN sets `tls_serial_0` (the serial of the certificate at depth 0, the client's own) when
 * it verified a client certificate, and never otherwise (ssl_verify.c, verify_cert_set_env), so
 * its presence tells a certificate client.
 *
 * Log and audit lines write no name as `(no certificate)` (logged_certificate.ts); the confirm
 * page names such a client by the user name it sent (http/pages/builtin.ts).
 */
import type { ClientEnv } from "../management/events.ts";

export function certificateName(env: ClientEnv): string {
  if (env.get("tls_serial_0") === undefined) return "";
  return env.get("common_name") ?? "";
}
