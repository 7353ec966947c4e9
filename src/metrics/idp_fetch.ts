/**
 * A fetch for the OIDC client that times every IdP request by endpoint. The endpoint is told
 * from the request's shape (oauth4webapi's requests are regular): the discovery path, a
 * token-endpoint grant, a revocation form, a bearer-authorized GET (userinfo); any other GET
 * is the JWKS. Only the fixed endpoint name is recorded, never the URL.
 */
import type { FetchLike } from "../oidc/http.ts";
import type { IdpEndpoint, Metrics } from "./port.ts";

const DISCOVERY_SUFFIX = "/.well-known/openid-configuration";

export function idpEndpointOf(url: string, init: RequestInit | undefined): IdpEndpoint {
  if (url.split("?")[0]!.endsWith(DISCOVERY_SUFFIX)) return "discovery";
  if ((init?.method ?? "GET").toUpperCase() === "POST") {
    const body = init?.body;
    const form = body instanceof URLSearchParams
      ? body
      : new URLSearchParams(typeof body === "string" ? body : "");
    if (form.has("grant_type")) return "token";
    if (form.has("token")) return "revocation";
    return "userinfo";
  }
  const authorization = new Headers(init?.headers).get("authorization") ?? "";
  return /^(bearer|dpop) /i.test(authorization) ? "userinfo" : "jwks";
}

export function meteredFetch(inner: FetchLike, metrics: Metrics): FetchLike {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const endpoint = idpEndpointOf(url, init);
    const start = performance.now();
    try {
      return await inner(input, init);
    } finally {
      metrics.idpRequest(endpoint, (performance.now() - start) / 1000);
    }
  };
}
