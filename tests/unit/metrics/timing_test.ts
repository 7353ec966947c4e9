import { assertEquals, assertRejects } from "../../support/assert.ts";
import { idpEndpointOf, meteredFetch } from "../../../src/metrics/idp_fetch.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import type { Reply } from "../../../src/management/events.ts";
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

Deno.test("meteredFetch() and the management commander time failures too, and pass them on", async () => {
  const seen: string[] = [];
  const metrics = {
    ...noMetrics,
    idpRequest: (endpoint: string) => seen.push(`idp ${endpoint}`),
    managementCommand: (command: string, seconds: number) =>
      seen.push(`command ${command} ${seconds >= 0 && seconds < 10}`),
  };
  const failing = meteredFetch(() => Promise.reject(new TypeError("refused")), metrics);
  await assertRejects(() => failing("https://idp/x/.well-known/openid-configuration"), TypeError);
  // No link, OpenVPN's ERROR:, a success: each timed once, under the command's own name.
  const replies: Array<() => Promise<Reply>> = [
    () => Promise.reject(new Error("Management interface not connected")),
    () => Promise.resolve({ ticket: 1, type: "error", message: "client-deny command failed" }),
    () => Promise.resolve({ ticket: 2, type: "success", message: "client-auth command succeeded" }),
  ];
  const commander = managementCommander({
    send: () => replies.shift()!(),
    status: () => ({ linkUp: true, managementVersion: 5, lastError: undefined }),
  }, metrics);
  await assertRejects(() => commander.kill(1, "bye"), Error, "not connected");
  await assertRejects(() => commander.deny(1, 1, "r", "c"), Error, "client-deny command failed");
  await commander.authNt(1, 2);
  assertEquals(seen, [
    "idp discovery",
    "command client-kill true",
    "command client-deny true",
    "command client-auth-nt true",
  ]);
});
