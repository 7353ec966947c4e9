/**
 * What a storm of revocations does at the IdP: N refresh tokens revoked at once through the
 * OIDC client (as when OpenVPN stops and N certificate-only clients leave), against a stub IdP
 * that answers each revocation after DELAY ms. Prints the most requests open at the stub at
 * once, the connections they came over, how long the storm took and how many failed.
 *
 *   deno run -A bench/revocation_storm.ts [N=5000] [DELAY_MS=20]
 */
import { Secret } from "../src/config/secret.ts";
import { createOidcClient } from "../src/oidc/client.ts";

const count = Number(Deno.args[0] ?? 5000);
const delayMs = Number(Deno.args[1] ?? 20);
let open = 0;
let mostOpen = 0;
const connections = new Set<string>();

let issuer = "";
const idp: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen() {},
}, async (req, info): Promise<Response> => {
  if (new URL(req.url).pathname === "/.well-known/openid-configuration") {
    return Response.json({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      revocation_endpoint: `${issuer}/revoke`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
  }
  connections.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
  mostOpen = Math.max(mostOpen, ++open);
  await req.text();
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  open--;
  return new Response(null, { status: 200 });
});

issuer = `http://127.0.0.1:${idp.addr.port}`;
const client = createOidcClient({
  issuer: new URL(issuer),
  clientId: "openvpn",
  clientSecret: new Secret("bench-secret"),
  clientAuthMethod: "client_secret_basic",
  privateKey: undefined,
  privateKeyAlg: "RS256",
  privateKeyCertificateFile: undefined,
  clientAssertionAudience: "issuer",
  scopes: ["openid"],
  usernameClaim: "preferred_username",
  groupsClaim: "groups",
  rolesClaim: undefined,
  authorizeParams: {},
  useUserinfo: false,
  revokeRefreshTokens: true,
  clockToleranceSec: 30,
  httpTimeoutMs: 10_000,
  maxOpenRequests: 32,
  tlsCaFile: undefined,
}, "http://127.0.0.1:1/oauth2/callback");
await client.discover();

const started = performance.now();
const results = await Promise.allSettled(
  Array.from({ length: count }, (_, i) => client.revoke(`refresh-token-${i}`)),
);
const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
console.log(JSON.stringify({
  revocations: count,
  idpDelayMs: delayMs,
  tookMs: Math.round(performance.now() - started),
  mostOpenAtIdp: mostOpen,
  connections: connections.size,
  failed: failed.length,
  firstError: failed[0] === undefined ? undefined : String(failed[0].reason).slice(0, 200),
}));
await idp.shutdown();
