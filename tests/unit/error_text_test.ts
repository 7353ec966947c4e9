import { assertEquals } from "../support/assert.ts";
import { errorText } from "../../src/error_text.ts";

Deno.test("errorText() is an Error's message without String()'s name prefix", () => {
  assertEquals(errorText(new Error("connect ECONNREFUSED")), "connect ECONNREFUSED");
  assertEquals(errorText(new TypeError("bad")), "bad");
  assertEquals(errorText(new Error("")), "");
});

Deno.test("errorText() writes anything else thrown as String() does", () => {
  assertEquals(errorText("plain"), "plain");
  assertEquals(errorText(42), "42");
  assertEquals(errorText(undefined), "undefined");
  assertEquals(errorText(null), "null");
  assertEquals(errorText({ message: "not an Error" }), "[object Object]");
});

Deno.test("errorText() reads no cause: the caller that wants the chain walks it", () => {
  assertEquals(errorText(new Error("outer", { cause: new Error("inner") })), "outer");
});
