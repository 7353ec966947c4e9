import { assertEquals, assertThrows } from "../../support/assert.ts";
import { parseWebAuth, pendingAuthUrl } from "../../support/web_auth.ts";

Deno.test("parseWebAuth() reads WEB_AUTH without flags and with them, the URL's own colons kept", () => {
  assertEquals(parseWebAuth("WEB_AUTH::https://vpn.example.com:8443/login/abc"), {
    flags: [],
    url: "https://vpn.example.com:8443/login/abc",
  });
  assertEquals(parseWebAuth("WEB_AUTH:external:https://vpn.example.com/login/abc"), {
    flags: ["external"],
    url: "https://vpn.example.com/login/abc",
  });
  assertEquals(parseWebAuth("WEB_AUTH:external,hidden:http://127.0.0.1:9000/login/x"), {
    flags: ["external", "hidden"],
    url: "http://127.0.0.1:9000/login/x",
  });
  for (const other of ["OPEN_URL:https://x", "CR_TEXT:E,R:Code", "WEB_AUTH:https", "WEB_AUTH::"]) {
    assertEquals(parseWebAuth(other), undefined, other);
  }
});

Deno.test("pendingAuthUrl() finds the URL in a client-pending-auth line with or without flags", () => {
  assertEquals(
    pendingAuthUrl('client-pending-auth 0 1 "WEB_AUTH::http://127.0.0.1:9/login/a" 180'),
    "http://127.0.0.1:9/login/a",
  );
  assertEquals(
    pendingAuthUrl('client-pending-auth 0 1 "WEB_AUTH:external:http://127.0.0.1:9/login/a" 180'),
    "http://127.0.0.1:9/login/a",
  );
  assertThrows(() => pendingAuthUrl('client-deny 0 1 "no"'), Error, "No WEB_AUTH URL");
});
