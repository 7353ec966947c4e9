/**
 * LoginFlow.complete by the cookies a browser presents: none of the state's login is
 * "cookie-missing" (that sign-in may still be pending elsewhere), and only the finished mark is
 * "finished", which takes and sends nothing: the mark is never a binding.
 */
import { assertEquals } from "../../support/assert.ts";
import { appSetup, ID, PEER } from "../../support/app_fixture.ts";
import { FINISHED_MARK, stateTag } from "../../../src/bridge/login_flow.ts";

const OTHER = "CCCCCCCCCCCCCCCCCCCCCC";
const callbackFor = (state: string) =>
  new URL(`http://127.0.0.1:9000/oauth2/callback?code=abc&state=${state}`);

Deno.test("LoginFlow.complete: a tagged state whose login has no cookie among the browser's is cookie-missing, and the login stays pending", async () => {
  const ctx = await appSetup();
  await ctx.store.putPending(ctx.pending({ id: OTHER, cid: 9 }));
  assertEquals((await ctx.flow.begin(ID, "binding-mine", PEER.remoteAddr)).kind, "redirect");
  const begun = await ctx.store.getPending(ID);
  const state = begun?.oauth?.state ?? "";
  assertEquals(state.startsWith(`${stateTag(ID)}.`), true, state);
  assertEquals(
    await ctx.flow.complete(callbackFor(state), [[OTHER, "binding-abandoned"]], PEER.remoteAddr),
    { kind: "cookie-missing" },
  );
  assertEquals(await ctx.store.getPending(ID), begun);
  assertEquals(ctx.finishCalls, []);
  // A state with a tag of no login at all (forged) is the same: nothing to look up; and so is
  // one with no tag, which no sign-in begun here has (the browser's cookies are not tried).
  for (const forged of ["forged-tag.x", "untagged"]) {
    assertEquals(
      await ctx.flow.complete(callbackFor(forged), [[ID, "binding-mine"]], PEER.remoteAddr),
      { kind: "cookie-missing" },
      forged,
    );
  }
  // Its own cookie's value that does not match is still expired (someone else's value).
  assertEquals(
    await ctx.flow.complete(callbackFor(state), [[ID, "binding-theirs"]], PEER.remoteAddr),
    { kind: "expired" },
  );
  const done = await ctx.flow.complete(callbackFor(state), [[ID, "binding-mine"]], PEER.remoteAddr);
  assertEquals(done.kind, "admitted");
});

Deno.test("LoginFlow.complete: the finished mark is 'finished' and never finishes a login, even one stored with that binding", async () => {
  const ctx = await appSetup();
  const state = `${stateTag(ID)}.s`;
  // Not something begin() stores (the web layer never passes the mark), but were it there:
  const oauth = { state, nonce: "n", codeVerifier: "v", browserBinding: FINISHED_MARK };
  await ctx.store.putPending(ctx.pending({ oauth }));
  assertEquals(
    await ctx.flow.complete(callbackFor(state), [[ID, FINISHED_MARK]], PEER.remoteAddr),
    { kind: "finished" },
  );
  assertEquals((await ctx.store.getPending(ID))?.oauth, oauth);
  assertEquals(ctx.finishCalls, []);
  assertEquals(ctx.commander.commands, []);
});
