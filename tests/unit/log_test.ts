import { assertEquals } from "../support/assert.ts";
import { maskSensitive } from "../../src/log.ts";
import { Secret } from "../../src/config/secret.ts";

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
  assertEquals(maskSensitive(properties) === properties, true);
});

Deno.test("a Secret prints as *** through every conversion", () => {
  const secret = new Secret("hunter2");
  assertEquals(String(secret), "***");
  assertEquals(JSON.stringify({ secret }), '{"secret":"***"}');
  assertEquals(Deno.inspect(secret), "***");
  assertEquals(`${secret}`, "***");
  assertEquals(secret.reveal(), "hunter2");
});
