/**
 * Starts the test IdP with the demo users for manual use and prints its issuer.
 *
 *   deno run --allow-net --allow-env --allow-read tests/support/idp/main.ts \
 *     [--port 8180] [--realm vpn] [--client-id openvpn] [--client-secret openvpn-secret] \
 *     [--redirect-uri http://127.0.0.1:9000/oauth2/callback] [--auth-method client_secret_basic] \
 *     [--pbkdf2-iterations N]   (check passwords with PBKDF2-SHA512 like Keycloak)
 */
import process from "node:process";
import { startTestIdp, type TestClientAuthMethod } from "./server.ts";
import { DEFAULT_USERS } from "./users.ts";

function flag(name: string, fallback: string): string {
  const args = process.argv;
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const idp = await startTestIdp({
  port: Number(flag("port", "8180")),
  realm: flag("realm", "vpn"),
  clients: [{
    clientId: flag("client-id", "openvpn"),
    clientSecret: flag("client-secret", "openvpn-secret"),
    redirectUris: [flag("redirect-uri", "http://127.0.0.1:9000/oauth2/callback")],
    tokenEndpointAuthMethod: flag("auth-method", "client_secret_basic") as TestClientAuthMethod,
  }],
  pbkdf2Iterations: Number(flag("pbkdf2-iterations", "0")) || undefined,
});

console.log(`issuer: ${idp.issuer}`);
for (const user of DEFAULT_USERS) {
  const notes = [user.disabled ? "disabled" : "", user.denied ? "access_denied" : ""]
    .filter((n) => n !== "").join(", ");
  console.log(
    `user: ${user.username} / ${user.password} groups=${(user.groups ?? []).join(",")}` +
      (notes === "" ? "" : ` (${notes})`),
  );
}

const shutdown = () => {
  idp.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
