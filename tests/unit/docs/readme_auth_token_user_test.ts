/**
 * README, "Renegotiation and reconnects": the bridge pushes `auth-token-user` with the user's
 * name to a client that sent none, at sign-in and at a token reconnect, and to no other client;
 * a name the client could not take refuses the sign-in. Without the line such a client presents
 * no user name with its token and every renegotiation fails.
 */
import { assertEquals } from "../../support/assert.ts";
import { judgeClient } from "../../../src/bridge/judge_client.ts";
import { getLogger } from "../../../src/log.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

const README = new URL("../../../README.md", import.meta.url);

/** The README's paragraph on the pushed user name, its line breaks joined. */
async function paragraph(): Promise<string> {
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const start = readme.indexOf("To a client that sent no user name");
  const end = readme.indexOf("every renegotiation would fail.", start);
  assertEquals(start >= 0 && end > start, true, "the README says what auth-token-user is for");
  return readme.slice(start, end);
}

/** The lines sent to a `kind` client of `alice`'s (or the denial) that sent `username`. */
function linesFor(
  kind: "login" | "connect" | "reauth",
  username: string,
  name = "alice",
): readonly string[] | string {
  const claims = { sub: "u-1", preferred_username: name, groups: ["/vpn-users"] };
  const client = { kind, cid: 4, commonName: "laptop-1", username };
  const verdict = judgeClient(
    claims,
    client,
    { policy: TEST_POLICY, usernamePolicy: "empty_or_match" },
    getLogger("test"),
  );
  return verdict.allow ? verdict.lines : verdict.denial.code;
}

const PUSHED = `push "auth-token-user ${btoa("alice")}"`;

Deno.test("the README's auth-token-user: pushed at sign-in and token reconnect to a client that sent no user name", async () => {
  const text = await paragraph();
  assertEquals(text.includes("`client-auth` of its sign-in and of a token reconnect"), true, text);
  assertEquals(text.includes("pushes `auth-token-user` with the user's name"), true, text);
  assertEquals(linesFor("login", ""), [PUSHED]);
  assertEquals(linesFor("connect", ""), [PUSHED]);
  // A REAUTH is answered with client-auth-nt: no lines.
  assertEquals(linesFor("reauth", ""), []);
});

Deno.test("the README's auth-token-user: none to a client that sent a user name; an unusable name refuses", async () => {
  const text = await paragraph();
  assertEquals(text.includes("A client that sent a user name gets no such line"), true, text);
  assertEquals(linesFor("login", "alice"), []);
  assertEquals(linesFor("connect", "alice"), []);
  assertEquals(text.includes("over 127 bytes in UTF-8"), true, text);
  assertEquals(text.includes("(`username_unusable`)"), true, text);
  assertEquals(linesFor("login", "", "a".repeat(127)), [
    `push "auth-token-user ${btoa("a".repeat(127))}"`,
  ]);
  assertEquals(linesFor("login", "", "a".repeat(128)), "username_unusable");
});
