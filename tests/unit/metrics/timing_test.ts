import { assertEquals, assertRejects } from "../../support/assert.ts";
import { idpEndpointOf, meteredFetch } from "../../../src/metrics/idp_fetch.ts";
import { meteredCommander } from "../../../src/bridge/metered_commander.ts";
import type { ClientCommander } from "../../../src/bridge/commander.ts";
import { noMetrics } from "../../../src/metrics/port.ts";

Deno.test("idpEndpointOf() tells oauth4webapi's requests apart by their shape", () => {
  const form = (body: Record<string, string>) => ({
    method: "POST",
    body: new URLSearchParams(body),
  });
  const rows: Array<[string, RequestInit | undefined, string]> = [
    ["https://idp/realms/vpn/.well-known/openid-configuration", undefined, "discovery"],
    ["https://idp/realms/vpn/protocol/openid-connect/certs", { method: "GET" }, "jwks"],
    ["https://idp/token", form({ grant_type: "authorization_code", code: "c" }), "token"],
    ["https://idp/token", form({ grant_type: "refresh_token", refresh_token: "r" }), "token"],
    ["https://idp/revoke", form({ token: "r", token_type_hint: "refresh_token" }), "revocation"],
    [
      "https://idp/userinfo",
      { method: "GET", headers: { authorization: "Bearer at" } },
      "userinfo",
    ],
    [
      "https://idp/userinfo",
      { method: "GET", headers: new Headers({ Authorization: "DPoP x" }) },
      "userinfo",
    ],
  ];
  for (const [url, init, expected] of rows) assertEquals(idpEndpointOf(url, init), expected, url);
});

Deno.test("meteredFetch() and meteredCommander() time failures too, and pass them on", async () => {
  const seen: string[] = [];
  const metrics = {
    ...noMetrics,
    idpRequest: (endpoint: string) => seen.push(`idp ${endpoint}`),
    managementCommand: (command: string) => seen.push(`command ${command}`),
  };
  const failing = meteredFetch(() => Promise.reject(new TypeError("refused")), metrics);
  await assertRejects(() => failing("https://idp/x/.well-known/openid-configuration"), TypeError);
  const refused = Promise.reject(new Error("ERROR: client not found"));
  refused.catch(() => {});
  const inner = { deny: () => refused } as unknown as ClientCommander;
  await assertRejects(() => meteredCommander(inner, metrics).deny(1, 1, "r", "c"), Error);
  await Promise.resolve();
  assertEquals(seen, ["idp discovery", "command client-deny"]);
});
