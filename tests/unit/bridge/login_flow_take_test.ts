/**
 * A callback tells its server's link that it takes the sign-in before it takes it from the
 * store (Admission.signInTaking): the deadline, finding the login gone, then leaves it to the
 * callback even when its delete is answered before the take's reply is decrypted. A take that
 * found nothing, or failed, is undone: nobody here answers that sign-in, and a login the store
 * lost is denied as timed out (sign_in_deadline_lost_test.ts).
 */
import { assertEquals } from "../../support/assert.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { appSetup, ID, openWithoutConfirm, STATE_1 } from "../../support/app_fixture.ts";

type Take = (id: string) => Promise<unknown>;

/**
 * A callback for the app's sign-in, begun as a browser does, with the store's take replaced by
 * `take` (given the real one); returns what happened around the take, in order.
 */
async function callbackWithTake(take: (real: Take, id: string) => Promise<unknown>) {
  const ctx = await appSetup({ confirmLogin: false });
  const { cookie } = await openWithoutConfirm(ctx);
  const steps: string[] = [];
  ctx.admission.holdAnswersFor("default", {
    holdSignInAnswer: () => false,
    signInTaking: (cid, loginId) => {
      steps.push(`taking ${cid} ${loginId === ID ? "ID" : loginId}`);
      return () => steps.push("undone");
    },
    clientAdmitted: () => {},
    sessionMovedOff: () => {},
  });
  const real: Take = ctx.store.takePending.bind(ctx.store);
  ctx.store.takePending = async (id: string) => {
    steps.push("take");
    return await take(real, id) as Awaited<ReturnType<typeof ctx.store.takePending>>;
  };
  const response = await ctx.request(`/oauth2/callback?code=abc&state=${STATE_1}`, {
    headers: { cookie },
  });
  await response.body?.cancel();
  return { steps, status: response.status, commands: ctx.commander.commands };
}

Deno.test("LoginFlow: a callback marks its sign-in as taken before the take, and keeps the mark once it has it", async () => {
  const { steps, commands } = await callbackWithTake((real, id) => real(id));
  assertEquals(steps, ["taking 4 ID", "take"]);
  assertEquals(commands.map((command) => command.kind), ["auth"]);
});

Deno.test("LoginFlow: a take that found the sign-in gone is undone", async () => {
  const { steps, commands } = await callbackWithTake(() => Promise.resolve(undefined));
  assertEquals(steps, ["taking 4 ID", "take", "undone"]);
  assertEquals(commands, []);
});

Deno.test("LoginFlow: a take that failed is undone", async () => {
  const { steps, status } = await callbackWithTake(() =>
    Promise.reject(new StoreUnavailableError("Session store unreachable: test"))
  );
  assertEquals(steps, ["taking 4 ID", "take", "undone"]);
  assertEquals(status, 503);
});
