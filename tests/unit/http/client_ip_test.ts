import { assertEquals } from "../../support/assert.ts";
import { clientIp, proxyRange, trustedProxies } from "../../../src/http/client_ip.ts";

const none = trustedProxies([]);
const proxies = trustedProxies(["10.0.0.0/8", "192.0.2.10", "fd00::/8"]);

Deno.test("clientIp() uses the socket peer when it is not a trusted proxy", () => {
  assertEquals(clientIp("203.0.113.5", "198.51.100.1", none), "203.0.113.5");
  assertEquals(clientIp("203.0.113.5", "198.51.100.1", proxies), "203.0.113.5");
});

Deno.test("clientIp() takes the right-most untrusted X-Forwarded-For entry behind trusted proxies", () => {
  assertEquals(clientIp("10.1.2.3", "198.51.100.1", proxies), "198.51.100.1");
  // The left-most entry is whatever the client sent: never believed.
  assertEquals(clientIp("10.1.2.3", "6.6.6.6, 198.51.100.1, 192.0.2.10", proxies), "198.51.100.1");
  assertEquals(clientIp("fd00::1", "2001:db8::7", proxies), "2001:db8::7");
});

Deno.test("clientIp() ignores a malformed X-Forwarded-For and normalises mapped IPv4", () => {
  assertEquals(clientIp("10.1.2.3", "not-an-ip", proxies), "10.1.2.3");
  assertEquals(clientIp("::ffff:10.1.2.3", "198.51.100.9", proxies), "198.51.100.9");
  assertEquals(clientIp("::ffff:203.0.113.5", undefined, none), "203.0.113.5");
});

Deno.test("trustedProxies() matches CIDR ranges exactly at their edges", () => {
  const trusted = trustedProxies(["192.168.4.0/22", "2001:db8::/32"]);
  assertEquals(trusted("192.168.4.0"), true);
  assertEquals(trusted("192.168.7.255"), true);
  assertEquals(trusted("192.168.8.0"), false);
  assertEquals(trusted("192.168.3.255"), false);
  assertEquals(trusted("2001:db8:ffff::1"), true);
  assertEquals(trusted("2001:db9::1"), false);
  assertEquals(trusted("garbage"), false);
});

Deno.test("trustedProxies() takes an IPv4-mapped range as the IPv4 range it names, in any spelling", () => {
  const mapped = trustedProxies(["::ffff:192.0.2.0/120"]);
  assertEquals(
    ["192.0.2.10", "::ffff:192.0.2.200", "::ffff:c000:20a", "192.0.3.1"].map(mapped),
    [true, true, true, false],
  );
  const hex = trustedProxies(["::ffff:c000:200/120"]);
  assertEquals(["192.0.2.10", "192.0.3.1"].map(hex), [true, false]);
  // A peer written in the hex mapped spelling matches a plain IPv4 range too.
  assertEquals(trustedProxies(["192.0.2.0/24"])("::ffff:c000:20a"), true);
});

Deno.test("proxyRange() refuses what names no range: a mapped prefix under /96, too long a prefix, junk", () => {
  for (
    const entry of [
      "::ffff:192.0.2.0/95",
      "192.0.2.0/33",
      "2001:db8::/129",
      "10.0.0.0/8/8",
      "10.0.0.0/x",
      "host",
    ]
  ) {
    assertEquals(proxyRange(entry), undefined, entry);
  }
  assertEquals(proxyRange("::ffff:192.0.2.0/96")?.prefix, 0);
  assertEquals(proxyRange("2001:db8::/32")?.prefix, 32);
});

Deno.test("clientIp() stops at a malformed X-Forwarded-For entry: nothing left of it is believed", () => {
  // Left of the junk is whatever the browser sent; the last trusted hop is all that is known.
  assertEquals(clientIp("10.1.2.3", "6.6.6.6, not-an-ip, 10.0.0.2", proxies), "10.0.0.2");
  assertEquals(clientIp("10.1.2.3", "6.6.6.6, , 10.0.0.2", proxies), "10.0.0.2");
});

Deno.test("trustedProxies() never matches an IPv4 peer against an IPv6 range, nor an IPv6 peer against an IPv4 range", () => {
  // 32.1.13.184 is 0x20010db8: the first four bytes of 2001:db8::/32.
  assertEquals(trustedProxies(["2001:db8::/32"])("32.1.13.184"), false);
  // a00::1 starts with the byte 10, the first byte of 10.0.0.0/8.
  assertEquals(trustedProxies(["10.0.0.0/8"])("a00::1"), false);
  // So such a peer's X-Forwarded-For is not believed.
  assertEquals(
    clientIp("32.1.13.184", "198.51.100.1", trustedProxies(["2001:db8::/32"])),
    "32.1.13.184",
  );
});

Deno.test("clientIp() takes an X-Forwarded-For entry with a port as its address (Azure Application Gateway, IIS ARR)", () => {
  assertEquals(clientIp("10.1.2.3", "198.51.100.1:51234", proxies), "198.51.100.1");
  assertEquals(clientIp("10.1.2.3", "[2001:db8::7]:51234", proxies), "2001:db8::7");
  assertEquals(clientIp("10.1.2.3", "[::ffff:198.51.100.1]:443", proxies), "198.51.100.1");
  // Trusted hops with ports are walked past like any other.
  assertEquals(clientIp("10.1.2.3", "198.51.100.1:1, 192.0.2.10:65535", proxies), "198.51.100.1");
  assertEquals(clientIp("fd00::1", "[2001:db8::7]:80, [fd00::2]:8080", proxies), "2001:db8::7");
});

Deno.test("clientIp() never believes a left-most entry, with a port or not", () => {
  assertEquals(
    clientIp("10.1.2.3", "203.0.113.9:1234, 198.51.100.1:5678", proxies),
    "198.51.100.1",
  );
  assertEquals(clientIp("10.1.2.3", "[2001:db8::9]:1, 198.51.100.1:5678", proxies), "198.51.100.1");
});

Deno.test("clientIp() stops at an entry whose port is no port 1-65535 in digits", () => {
  // The trusted hop right of it (written with a port) is all that is known.
  for (
    const bad of [
      "198.51.100.1:0",
      "198.51.100.1:65536",
      "198.51.100.1:",
      "198.51.100.1:80a",
      "198.51.100.1:+80",
      "198.51.100.1:8 0",
      "198.51.100.1:123456",
      "[2001:db8::7]:",
      "[2001:db8::7]:99999",
      "[2001:db8::7]:0x50",
      "198.51.100.1:80:80",
      "host:80",
      "unknown:80",
    ]
  ) {
    assertEquals(clientIp("10.1.2.3", `6.6.6.6, ${bad}, 10.0.0.2:443`, proxies), "10.0.0.2", bad);
  }
});

Deno.test("clientIp() takes [IPv6] without a port, and a bare IPv6 whole: its last group is no port", () => {
  assertEquals(clientIp("10.1.2.3", "[2001:db8::7]", proxies), "2001:db8::7");
  assertEquals(clientIp("10.1.2.3", "2001:db8::7:80", proxies), "2001:db8::7:80");
  // A stray bracket is no address: nothing left of it is believed.
  for (const bad of ["[2001:db8::7", "2001:db8::7]", "[[2001:db8::7]]", "[2001:db8::7]]:80"]) {
    assertEquals(clientIp("10.1.2.3", `6.6.6.6, ${bad}, 10.0.0.2`, proxies), "10.0.0.2", bad);
  }
});
