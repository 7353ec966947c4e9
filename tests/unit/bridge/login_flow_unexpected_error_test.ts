/**
 * A callback whose code exchange fails in a way the OIDC client did not expect (a bug, not an
 * IdP's answer) still ends the sign-in: the client is denied at once instead of waiting out its
 * deadline, and the error goes on to the web layer's 500.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { appSetup, ID, PEER, SIGN_IN, STATE_1 } from "../../support/app_fixture.ts";
import { INTERNAL_ERROR } from "../../../src/bridge/denial.ts";

Deno.test("LoginFlow: an unexpected error at the code exchange denies the client as internal_error, then is thrown", async () => {
  const unexpected = new TypeError("Cannot read properties of undefined");
  const ctx = await appSetup({ finishError: unexpected });
  const begun = await ctx.flow.begin(ID, "binding-1", PEER.remoteAddr);
  assertEquals(begun.kind, "redirect");

  const thrown = await assertRejects(() =>
    ctx.flow.complete(
      new URL(`http://127.0.0.1:9000/oauth2/callback?code=abc&state=${STATE_1}`),
      [[ID, "binding-1"]],
      PEER.remoteAddr,
    )
  );
  assertEquals(thrown, unexpected);
  assertEquals(ctx.commander.commands, [{
    kind: "deny",
    cid: 4,
    kid: 1,
    reason: INTERNAL_ERROR.logReason,
    clientReason: INTERNAL_ERROR.reason,
    signIn: SIGN_IN,
  }]);
  // Taken: the same state cannot be replayed into a second exchange.
  assertEquals(await ctx.store.getPending(ID), undefined);
});
