/**
 * Asks http.listen itself for /healthz when the probe could not bind it, to tell the running
 * service from another program on the port (checks.ts judges the answer). node:http, not fetch:
 * a connection refused (nobody there to ask) must be told from one that connected and got no
 * HTTP answer (something that is no web server, or no answer in time). With the built-in TLS the
 * certificate is not verified: it names base_url's host, not the listen address, nothing secret
 * is sent, and the answer only chooses a message.
 */
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { HEALTH_PATH } from "../http/routes.ts";
import type { ListenAnswer } from "./checks.ts";
import { errorText } from "../error_text.ts";

/** More than the service's "ok"; the rest of a longer answer is not read. */
const MAX_BODY_BYTES = 256;

export function askListen(
  at: { host: string; port: number },
  tls: boolean,
  timeoutMs: number,
): Promise<ListenAnswer> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const settle = (answer: ListenAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(answer);
    };
    const options: RequestOptions & { rejectUnauthorized: boolean } = {
      host: connectableHost(at.host),
      port: at.port,
      path: HEALTH_PATH,
      agent: false,
      rejectUnauthorized: false,
    };
    const request = (tls ? httpsRequest : httpRequest)(options);
    request.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    request.on("response", (response) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const done = () =>
        settle({
          kind: "answered",
          status: response.statusCode ?? 0,
          body: new TextDecoder().decode(concat(chunks)).slice(0, MAX_BODY_BYTES),
        });
      response.on("data", (chunk: Uint8Array) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) done();
      });
      response.on("end", done);
      response.on("error", done);
    });
    request.on("error", (error) => {
      const message = errorText(error);
      settle(connected ? { kind: "no-answer", message } : { kind: "not-connected", message });
    });
    const timer = setTimeout(() => {
      const message = `no answer within ${timeoutMs} ms`;
      settle(connected ? { kind: "no-answer", message } : { kind: "not-connected", message });
    }, timeoutMs);
    request.end();
  });
}

/** A wildcard listen address is reached at the loopback address of its family. */
function connectableHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}
