import { assert, assertEquals, assertStrictEquals, assertThrows } from "../../support/assert.ts";
import { checkSession } from "../../../src/sessions/entry_check.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { SharedValues } from "../../../src/sessions/shared_values.ts";
import { session, T0 } from "./fixtures.ts";

function keycloakSession(sessionId: string, subject: string) {
  return session({
    sessionId,
    subject,
    username: `user-${subject}`,
    groups: ["/vpn-users", "/staff"],
    roles: ["vpn-user", "offline_access"],
    claims: {
      sub: subject,
      preferred_username: `user-${subject}`,
      groups: ["/vpn-users", "/staff"],
      realm_access: { roles: ["vpn-user", "offline_access"] },
    },
  });
}

Deno.test("sessions of a memory store with the same groups, roles and nested claims hold one copy of each", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  await store.putSession(keycloakSession("a", "u-1"));
  await store.putSession(keycloakSession("b", "u-2"));
  const a = (await store.getSession("a"))!;
  const b = (await store.getSession("b"))!;
  assertStrictEquals(a.groups, b.groups);
  assertStrictEquals(a.roles, b.roles);
  assertStrictEquals(a.claims["groups"], a.groups);
  assertStrictEquals(a.claims["realm_access"], b.claims["realm_access"]);
  assertStrictEquals((a.claims["realm_access"] as { roles: string[] }).roles, a.roles);
  // What differs per user stays apart.
  assert(a.claims !== b.claims);
  assertStrictEquals(a.claims["sub"], "u-1");
  assertStrictEquals(b.claims["sub"], "u-2");
  assertEquals(a, checkSession(keycloakSession("a", "u-1")));
  await store.close();
});

Deno.test("a shared value cannot be changed through one session", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  await store.putSession(keycloakSession("a", "u-1"));
  await store.putSession(keycloakSession("b", "u-2"));
  const a = (await store.getSession("a"))!;
  assertThrows(() => a.groups.push("/admins"), TypeError);
  const realm = a.claims["realm_access"] as { roles: string[] };
  assertThrows(() => realm.roles.push("admin"), TypeError);
  assertThrows(() => {
    realm.roles = ["admin"];
  }, TypeError);
  assertEquals((await store.getSession("b"))?.groups, ["/vpn-users", "/staff"]);
  await store.close();
});

Deno.test("shared claims are what a JSON round trip makes of them", () => {
  const claims: Record<string, unknown> = {
    text: "x",
    count: 3,
    negativeZero: -0,
    notANumber: NaN,
    flag: false,
    nothing: null,
    missing: undefined,
    method: () => 1,
    when: new Date(0),
    list: [1, undefined, "two", { deep: [NaN] }],
    nested: { a: { b: "c" }, skip: undefined },
  };
  const shared = new SharedValues().claims(claims);
  assertEquals(shared, JSON.parse(JSON.stringify(claims)));
  assert(Object.is(shared["negativeZero"], 0));
  assert(!Object.hasOwn(shared, "missing"));
  assertThrows(() => new SharedValues().claims({ big: 1n }), TypeError);
});

Deno.test("a claim named __proto__ stays an own claim and never becomes the prototype", () => {
  const claims = JSON.parse('{"__proto__": {"admin": true}, "nested": {"__proto__": ["x"]}}');
  const shared = new SharedValues().claims(claims);
  assertStrictEquals(Object.getPrototypeOf(shared), Object.prototype);
  assert(Object.hasOwn(shared, "__proto__"));
  assertEquals(Object.getOwnPropertyDescriptor(shared, "__proto__")?.value, {
    admin: true,
  });
  assertStrictEquals((shared as { admin?: unknown }).admin, undefined);
  const nested = shared["nested"] as Record<string, unknown>;
  assertStrictEquals(Object.getPrototypeOf(nested), Object.prototype);
  assertEquals(Object.getOwnPropertyDescriptor(nested, "__proto__")?.value, ["x"]);
});

Deno.test("values are shared only when their JSON is the same", () => {
  const values = new SharedValues();
  assert(values.list(["a", "b"]) !== values.list(["b", "a"]));
  assertStrictEquals(values.list(["a", "b"]), values.list(["a", "b"]));
  const one = values.claims({ x: { a: 1, b: 2 } });
  const other = values.claims({ x: { b: 2, a: 1 } });
  assert(one["x"] !== other["x"]);
  assertStrictEquals(one["x"], values.claims({ x: { a: 1, b: 2 } })["x"]);
});

Deno.test("a value is taken for one shared before only when its JSON is the same", () => {
  const values = new SharedValues();
  // Each first shares a value; the second looks like it field by field but has other JSON.
  const cases: Array<[unknown, unknown]> = [
    [{ 0: "a", 1: "b" }, new String("ab")],
    [{ a: 1 }, { a: 1, toJSON: () => "other" }],
    [["a"], Object.assign(["a"], { toJSON: () => "other" })],
    [[null], [NaN]],
    [[null], [undefined]],
    [["x", null], ["x", () => 1]],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }],
    [{ a: 1 }, { a: 1, b: undefined }],
    [{ a: "1" }, { a: 1 }],
    [["a"], { 0: "a" }],
    [{ list: [1, 2] }, { list: [1, 2, 3] }],
  ];
  for (const [first, second] of cases) {
    const shared = values.claims({ value: first });
    const next = values.claims({ value: second });
    assertEquals(next, JSON.parse(JSON.stringify({ value: second })));
    assertEquals(
      next["value"] === shared["value"],
      JSON.stringify(first) === JSON.stringify(second),
      JSON.stringify(second),
    );
  }
  // The same JSON from another object is the shared copy, deep or not.
  const deep = values.claims({ v: { a: [0, { b: null }], c: true } });
  assertStrictEquals(values.claims({ v: { a: [0, { b: null }], c: true } })["v"], deep["v"]);
  assertStrictEquals(values.claims({ v: { a: [-0, { b: null }], c: true } })["v"], deep["v"]);
});
