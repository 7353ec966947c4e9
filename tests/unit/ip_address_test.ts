import { assertEquals } from "../support/assert.ts";
import { hostAndPort, sameIpAddress } from "../../src/ip_address.ts";

const CASES: Array<[string, string, boolean]> = [
  ["2001:DB8::1", "2001:db8:0:0:0:0:0:1", true],
  ["2001:db8::1", "2001:0db8:0000::0001", true],
  ["[2001:db8::1]", "2001:db8::1", true],
  ["198.51.100.7", "::ffff:198.51.100.7", true],
  ["198.51.100.7", "::FFFF:c633:6407", true],
  ["::ffff:198.51.100.7", "::ffff:c633:6407", true],
  ["::1", "0:0:0:0:0:0:0:1", true],
  ["2001:db8::1", "2001:db8::2", false],
  ["198.51.100.7", "198.51.100.70", false],
  // IPv4-compatible (deprecated) is not IPv4-mapped: a different address.
  ["198.51.100.7", "::198.51.100.7", false],
  // The full spelling with an embedded IPv4 address, no "::" to expand.
  ["198.51.100.7", "0:0:0:0:0:ffff:198.51.100.7", true],
  // Only ::ffff:0:0/96 is IPv4: a prefix anywhere else, or other bytes before ffff, is another
  // address, which a client-IP check must not take for the IPv4 one.
  ["198.51.100.7", "1::ffff:198.51.100.7", false],
  ["198.51.100.7", "::ff00:c633:6407", false],
  ["198.51.100.7", "::1:ffff:c633:6407", false],
  // 4 bytes are not the first 4 of 16.
  ["198.51.100.7", "c633:6407::", false],
  ["not an address", "not an address", false],
  ["", "", false],
  ["198.51.100.7", "", false],
];

for (const [a, b, same] of CASES) {
  Deno.test(`sameIpAddress(${JSON.stringify(a)}, ${JSON.stringify(b)}) is ${same}`, () => {
    assertEquals(sameIpAddress(a, b), same);
    assertEquals(sameIpAddress(b, a), same);
  });
}

Deno.test("hostAndPort() writes an IPv6 host in brackets, so that its port stays apart", () => {
  assertEquals(hostAndPort("127.0.0.1", 31171), "127.0.0.1:31171");
  assertEquals(hostAndPort("::1", 443), "[::1]:443");
  assertEquals(hostAndPort("vpn.example.com", 8080), "vpn.example.com:8080");
});
