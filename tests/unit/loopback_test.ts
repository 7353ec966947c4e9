import { assertEquals } from "../support/assert.ts";
import { isLoopbackAddress, isLoopbackHost } from "../../src/loopback.ts";

Deno.test("isLoopbackHost() takes the whole of 127.0.0.0/8, in any letter case for names, and nothing past it", () => {
  // Raw text reaches it too (`openvpn.management` host, not parsed by URL): every octet counts.
  const cases: Array<[string, boolean]> = [
    ["127.0.0.255", true],
    ["127.255.255.255", true],
    ["LocalHost", true],
    ["[::1]", true],
    ["::1", true],
    ["127.256.0.1", false],
    ["127.0.999.1", false],
    ["127.0.0.1.example.com", false],
    ["0127.0.0.1", false],
  ];
  for (const [host, loopback] of cases) assertEquals(isLoopbackHost(host), loopback, host);
});

Deno.test("isLoopbackAddress() takes a peer's address, never the name localhost", () => {
  assertEquals(isLoopbackAddress("127.0.0.1"), true);
  assertEquals(isLoopbackAddress("::1"), true);
  assertEquals(isLoopbackAddress("localhost"), false);
});
