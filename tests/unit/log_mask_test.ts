/**
 * The logs' second line of defence (src/log_mask.ts): credential-like property names at any
 * depth.
 */
import { assertEquals, assertStrictEquals } from "../support/assert.ts";
import { maskSensitive } from "../../src/log_mask.ts";

Deno.test("maskSensitive() masks credential-like properties and keeps the rest", () => {
  const properties = {
    username: "alice",
    password: "hunter2",
    client_secret: "s",
    refreshToken: "rt",
    cookie: "c",
    codeVerifier: "v",
    cid: 4,
  };
  assertEquals(maskSensitive(properties), {
    username: "alice",
    password: "***",
    client_secret: "***",
    refreshToken: "***",
    cookie: "***",
    codeVerifier: "***",
    cid: 4,
  });
  assertEquals(properties.password, "hunter2");
});

Deno.test("maskSensitive() returns the same object when nothing is sensitive", () => {
  const properties = { cid: 1, commonName: "alice" };
  assertStrictEquals(maskSensitive(properties), properties);
});

Deno.test("maskSensitive() looks into arrays and deep objects, and leaves out what is nested too deep to check", () => {
  let deep: Record<string, unknown> = { token: "deep-token" };
  for (let level = 0; level < 6; level++) deep = { level: deep };
  const properties = {
    items: [{ token: "t-1", name: "a" }, "plain", [{ password: "pw" }]],
    deep,
  };
  const masked = maskSensitive(properties);
  assertEquals(masked["items"], [{ token: "***", name: "a" }, "plain", [{ password: "***" }]]);
  assertEquals(JSON.stringify(masked).includes("deep-token"), false);
  assertEquals(JSON.stringify(masked).includes('"token":"***"'), true);
  let tooDeep: unknown = { token: "hidden" };
  for (let level = 0; level < 20; level++) tooDeep = [tooDeep];
  const cut = JSON.stringify(maskSensitive({ tooDeep }));
  assertEquals(cut.includes("hidden"), false, cut);
  assertEquals(cut.includes("[nested too deep]"), true, cut);
  // Nothing sensitive anywhere: the same object, arrays and all.
  const clean = { list: [{ cid: 1 }, [2, 3]] };
  assertStrictEquals(maskSensitive(clean), clean);
});
