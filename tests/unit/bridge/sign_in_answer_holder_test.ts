/**
 * Which link holds a server's unwritten sign-in answers (Admission.holdAnswersFor): the newest
 * one registered. An older link of the same server that stops after a newer one registered must
 * not take the newer one's place away, or the answers of sign-ins finished while the link is
 * down are no longer held, and lost.
 */
import { assertEquals } from "../../support/assert.ts";
import { UNKNOWN_SESSION } from "../../../src/bridge/denial.ts";
import type { ClientCommander } from "../../../src/bridge/commander.ts";
import type { HeldSignInAnswer } from "../../../src/bridge/admission_types.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { EVENTS_T0 as T0, testAdmission } from "../../support/client_events_fixture.ts";

const linkDown = () =>
  Promise.reject(new ManagementConnectionError("not-connected", "Not connected: test"));
const downCommander: ClientCommander = {
  auth: linkDown,
  authNt: linkDown,
  pendingAuth: linkDown,
  deny: linkDown,
  halt: linkDown,
  kill: linkDown,
};

Deno.test("holdAnswersFor(): undoing an older holder of a server leaves the newer one holding its answers", async () => {
  const { admission } = testAdmission({
    store: new MemoryStore({ maxEntries: 10, now: () => T0 }),
    now: () => T0,
  });
  const heldBy: string[] = [];
  const holder = (name: string) => ({
    holdSignInAnswer: (answer: HeldSignInAnswer) => {
      heldBy.push(`${name} ${answer.command} ${answer.cid}`);
      return true;
    },
    signInTaking: () => () => {},
    clientAdmitted: () => {},
    sessionMovedOff: () => {},
  });
  const stopOld = admission.holdAnswersFor("default", holder("old"));
  admission.holdAnswersFor("default", holder("new"));
  stopOld();
  await admission.denySignIn(downCommander, {
    kind: "login",
    server: "default",
    cid: 4,
    kid: 1,
    commonName: "alice",
    clientIp: "198.51.100.7",
    username: "",
    signIn: { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "run-1" },
  }, UNKNOWN_SESSION);
  assertEquals(heldBy, ["new client-deny 4"], "not held by the link of the server");
});
