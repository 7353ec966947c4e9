/**
 * reset_connection_test.ts's race, run by whichever runtime imports it: the real OIDC client,
 * over the runtime's own fetch, refreshes against a raw HTTP/1.1 stand-in for the IdP that
 * answers the first request on each connection and keeps it alive, then closes a connection as
 * soon as it reads a second request on it, unanswered: the IdP closing an idle pooled connection
 * just as the bridge reuses it, made certain. Discovery takes the first request, so the refresh
 * (a POST) is always the one cut off.
 */
import { createServer, type Socket } from "node:net";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { oidcConfig } from "../../unit/oidc/fake_idp.ts";

export interface ResetObservations {
  /** "ok" with the refresh token it brought, or the error's code and message. */
  outcome: string;
  /** What the stand-in read: "connection number request line". */
  seen: string[];
}

const HEAD_END = "\r\n\r\n";

export async function refreshOverResetConnection(): Promise<ResetObservations> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let issuer = "";
  const server = createServer((socket) => {
    const connection = ++connections;
    let requests = 0;
    let buffered = "";
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      buffered += chunk;
      for (let end = buffered.indexOf(HEAD_END); end >= 0; end = buffered.indexOf(HEAD_END)) {
        const head = buffered.slice(0, end);
        const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0);
        if (buffered.length < end + HEAD_END.length + length) return;
        buffered = buffered.slice(end + HEAD_END.length + length);
        const line = head.slice(0, head.indexOf("\r\n"));
        seen.push(`${connection} ${line}`);
        if (++requests > 1) return void socket.destroy();
        socket.write(answer(line, issuer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  issuer = `http://127.0.0.1:${port}/realms/vpn`;
  try {
    const client = createOidcClient(
      oidcConfig({ issuer: new URL(issuer), httpTimeoutMs: 5000 }),
      "http://127.0.0.1:9/oauth2/callback",
    );
    const outcome = await client.refresh("refresh-token-1", "3f9d2c1a-user").then(
      (result) => `ok ${result.refreshToken}`,
      (error) => `${error.code}: ${error.message}`,
    );
    return { outcome, seen };
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Discovery (no userinfo, so a refresh without ID token needs nothing more) or the token. */
function answer(requestLine: string, issuer: string): string {
  const body = JSON.stringify(
    requestLine.startsWith("GET /realms/vpn/.well-known/openid-configuration ")
      ? {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/certs`,
      }
      : { access_token: "access-2", token_type: "Bearer", refresh_token: "refresh-token-2" },
  );
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`;
}
