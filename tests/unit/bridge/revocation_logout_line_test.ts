/**
 * A back-channel logout's lines as an operator reads them, through the real sink: its `sid` and
 * `sub` are the IdP's claims (a `sub` may come from a name or address the user chose), so they
 * are quoted inside the sentence, as the user, subject or session of an administrator's revoke
 * are. Written bare, a crafted `sub` read as more of the sentence.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { testRevocation } from "../../support/revocation_fixture.ts";
import { configureLogging } from "../../../src/log.ts";
import type { VerifiedLogout } from "../../../src/oidc/logout_verifier.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { T0 } from "../sessions/fixtures.ts";

/** A `sub` that, written bare, ends the sentence and starts another about someone else. */
const CRAFTED_SUB = 'x) was carried out; 0 session(s) ended. The revoke of user "bob';

/** The lines a logout of `sid`/`sub` writes in `format` while the store is unreachable. */
async function unreachableLogoutLines(
  format: "text" | "json",
  claims: Pick<VerifiedLogout, "sid" | "sub">,
): Promise<string[]> {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  const down = () => Promise.reject(new StoreUnavailableError("Session store unavailable: down"));
  store.findSessionsBySid = down;
  store.findSessionsBySubject = down;
  const { revocation } = testRevocation({
    store,
    verifyLogoutToken: () =>
      Promise.resolve({ ...claims, jti: "jti-1", replayUntil: T0 + 60_000, forget: () => {} }),
  });
  configureLogging("info", format, false);
  const capture = captureStderr();
  try {
    await assertRejects(() => revocation.logout("token"), StoreUnavailableError);
    revocation.close();
    return capture.lines();
  } finally {
    capture.restore();
    configureLogging("warning", "text", false);
  }
}

const KEPT = " could not be carried out, the session store is unreachable: kept and carried out " +
  "once the store answers; 0 session(s) this bridge knew of dropped";
const DROPPED_AT_STOP = "Stopping with 1 revocation(s) the session store never took, not " +
  "carried out: ";

for (const format of ["text", "json"] as const) {
  const messages = async (claims: Pick<VerifiedLogout, "sid" | "sub">) =>
    (await unreachableLogoutLines(format, claims)).map((line) =>
      format === "json" ? JSON.parse(line).message as string : line.replace(/^.*?: /, "")
    );

  Deno.test(`a back-channel logout's crafted sub is quoted in its lines, not read as the sentence (${format})`, async () => {
    const what = `back-channel logout (sid -, subject ${JSON.stringify(CRAFTED_SUB)})`;
    const [kept, stop, ...more] = await messages({ sid: undefined, sub: CRAFTED_SUB });
    assertEquals(more, []);
    assertEquals(kept?.startsWith(`The ${what}${KEPT} (`), true, kept);
    assertEquals(stop?.startsWith(`${DROPPED_AT_STOP}${what};`), true, stop);
  });

  Deno.test(`a back-channel logout's sid is quoted in its lines, an absent sub is "-" (${format})`, async () => {
    const [kept] = await messages({ sid: "sso-1", sub: undefined });
    assertEquals(
      kept?.startsWith(`The back-channel logout (sid "sso-1", subject -)${KEPT} (`),
      true,
      kept,
    );
  });
}
