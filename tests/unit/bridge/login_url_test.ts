import { assert, assertEquals } from "../../support/assert.ts";
import { Buffer } from "node:buffer";
import {
  baseUrlProblems,
  baseUrlTooLong,
  isLoginId,
  newLoginId,
} from "../../../src/bridge/login_url.ts";

const T = Date.UTC(2026, 11, 2, 12, 0, 0);

Deno.test("a login id is a 5-character time part and 128 random bits, in base64url", () => {
  const id = newLoginId(T);
  assertEquals(id.length, 27);
  assert(/^[A-Za-z0-9_-]{27}$/.test(id), id);
  assertEquals(Buffer.from(id.slice(5), "base64url").length, 16);
  assert(isLoginId(id));
});

Deno.test("login ids made close together share a prefix; their random parts never repeat", () => {
  const sameMs = Array.from({ length: 1000 }, () => newLoginId(T));
  assertEquals(new Set(sameMs.map((id) => id.slice(0, 5))).size, 1);
  assertEquals(new Set(sameMs.map((id) => id.slice(5))).size, 1000);
  // 64 ms share four characters, about four seconds three: a turn's new rows are neighbours.
  const base = T - (T % 4096);
  assertEquals(newLoginId(base).slice(0, 4), newLoginId(base + 63).slice(0, 4));
  assertEquals(newLoginId(base).slice(0, 3), newLoginId(base + 4095).slice(0, 3));
  assert(newLoginId(base).slice(0, 5) !== newLoginId(base + 1).slice(0, 5));
});

Deno.test("the time part is the clock's milliseconds in 30 bits, wrapping every 12.4 days", () => {
  assertEquals(newLoginId(0).slice(0, 5), "AAAAA");
  assertEquals(newLoginId(1).slice(0, 5), "AAAAB");
  assertEquals(newLoginId(64).slice(0, 5), "AAABA");
  assertEquals(newLoginId(2 ** 30 - 1).slice(0, 5), "_____");
  assertEquals(newLoginId(2 ** 30).slice(0, 5), "AAAAA");
});

Deno.test("isLoginId() takes ids of this version and the 22-character ids made before it", () => {
  assert(isLoginId("A".repeat(22)));
  assert(isLoginId("A".repeat(27)));
  assert(isLoginId("Az09-_".repeat(4) + "abc"));
  for (const bad of ["", "A".repeat(21), "A".repeat(23), "A".repeat(26), "A".repeat(28)]) {
    assertEquals(isLoginId(bad), false, `${bad.length} characters`);
  }
  for (
    const bad of ["A".repeat(21) + "/", "A".repeat(21) + "=", "A".repeat(26) + ".", "é".repeat(22)]
  ) {
    assertEquals(isLoginId(bad), false, bad);
  }
});

Deno.test("the longest base URL allowed makes a login URL of exactly 246 characters with WEB_AUTH::", () => {
  const origin = "https://vpn.example.com/";
  const longest = new URL(origin + "p".repeat(202 - origin.length));
  assertEquals(longest.href.length, 202);
  assertEquals(baseUrlProblems(longest), []);
  assertEquals(`WEB_AUTH::${longest.href}/login/${newLoginId(T)}`.length, 246);
  assertEquals(baseUrlProblems(new URL(longest.href + "p")).length, 1);
});

Deno.test("baseUrlTooLong() counts the WEB_AUTH flags: with external the base URL may have 194 characters", () => {
  const origin = "https://vpn.example.com/";
  const longest = new URL(origin + "p".repeat(194 - origin.length));
  assertEquals(baseUrlTooLong(longest, ["external"]), undefined);
  assertEquals(
    `WEB_AUTH:external:${longest.href}/login/${newLoginId(T)}`.length,
    246,
  );
  const over = new URL(longest.href + "p");
  assertEquals(baseUrlTooLong(over, []), undefined);
  assertEquals(baseUrlTooLong(over, ["external"]), { length: 195, most: 194 });
  assertEquals(baseUrlTooLong(new URL(origin + "p".repeat(203 - origin.length)), []), {
    length: 203,
    most: 202,
  });
});

Deno.test("baseUrlProblems() refuses a base URL ending in a bare ? or #, which links would keep", () => {
  for (
    const text of [
      "https://vpn.example.com/?",
      "https://vpn.example.com/#",
      "https://vpn.example.com/a?#",
    ]
  ) {
    assertEquals(baseUrlProblems(new URL(text)), ["Must not contain a query or fragment"], text);
  }
  assertEquals(baseUrlProblems(new URL("https://vpn.example.com/a%3Fb%23c")), []);
});

Deno.test("baseUrlProblems() refuses credentials in the base URL, a user name or a password alone", () => {
  // Every login link repeats the base URL: a credential in it would go to each VPN client.
  for (
    const text of [
      "https://admin:pw@vpn.example.com",
      "https://admin@vpn.example.com",
      "https://:pw@vpn.example.com",
    ]
  ) {
    assertEquals(
      baseUrlProblems(new URL(text)),
      ["The base URL must not contain credentials"],
      text.replace(/:\/\/[^@]*@/, "://***@"),
    );
  }
});
