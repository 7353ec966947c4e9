/**
 * The base URL's trailing slashes, however many, are dropped before `/login/<id>`: the link is the
 * base URL's path and the login path, never with an empty path segment between them.
 */
import { assertEquals } from "../../support/assert.ts";
import { baseUrlProblems, loginUrl } from "../../../src/bridge/login_url.ts";

Deno.test("loginUrl() drops every trailing slash of the base URL, not just one", () => {
  assertEquals(
    loginUrl(new URL("https://vpn.example.com/auth//"), "abc"),
    "https://vpn.example.com/auth/login/abc",
  );
  assertEquals(baseUrlProblems(new URL("https://vpn.example.com/auth//")), []);
});
