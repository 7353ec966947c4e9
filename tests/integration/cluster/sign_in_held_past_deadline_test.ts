/**
 * In a cluster, a sign-in whose pending login is gone from Redis at its deadline may be held by
 * another instance's callback while the IdP answers: the holder of the link cannot tell that from
 * a login Redis lost, so it refuses neither (README, Redis; ClientEventsDeps.soleTaker). The
 * client is left to OpenVPN's own timeout, 5 s later, and a sign-in the IdP finishes before that
 * still connects the user.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { clientEnv } from "../../support/bridge_harness.ts";
import { ClusterLab } from "../../support/cluster_lab.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";

const ALICE = 20;
const BOB = 21;

Deno.test({
  name:
    "cluster: the holder does not refuse, at its deadline, a sign-in a standby's callback holds while the IdP answers",
  fn: () =>
    ClusterLab.withHolderAndStandby(
      // The shortest auth_pending_timeout allowed; the IdP is held past it, within http_timeout.
      { timeouts: { authPending: "10s", idpHttp: "30s" } },
      async (lab, a, b) => {
        const openvpn = lab.openvpn;
        let bobHalted = -1;
        // B took alice's pending login from Redis and asks the IdP for her tokens. Meanwhile bob
        // connects; nobody takes his sign-in, so the holder halts him at his deadline, which
        // comes after alice's (his CONNECT came later): by then the holder has met hers.
        lab.idp.beforeToken = async () => {
          lab.idp.beforeToken = undefined;
          openvpn.sendClientBlock(
            "CONNECT",
            BOB,
            1,
            clientEnv({ common_name: "bob", session_id: "sess-bob", session_state: "Initial" }),
          );
          await openvpn.waitForLine((l) => l.startsWith(`client-pending-auth ${BOB} 1 `));
          const halt = await openvpn.waitForLine(
            (l) => l.startsWith(`client-kill ${BOB} `),
            15_000,
          );
          assertEquals(halt, `client-kill ${BOB} "HALT,${SIGN_IN_TIMED_OUT.reason}"`);
          bobHalted = openvpn.received.lastIndexOf(halt);
        };

        const { page, auth } = await lab.aliceSignsInOn(a, b, ALICE);

        assert(bobHalted >= 0, "the IdP was held until the deadlines had passed");
        const toAlice = openvpn.received.filter((l) =>
          l.startsWith(`client-kill ${ALICE} `) || l.startsWith(`client-deny ${ALICE} `)
        );
        assertEquals(toAlice, [], "the holder refused nothing for alice");
        // What README step 4 says of an allowed sign-in: OpenVPN, which waits 5 s longer than the
        // bridge's deadline, gets client-auth from the holder, and the browser says so.
        assertStringIncludes(page.text, "You are connected");
        assert(auth !== undefined, "client-auth sent for alice");
        assertEquals(auth.connection, 1, "A, the holder, sent it");
        assert(openvpn.received.indexOf(auth.line) > bobHalted, "after the deadlines");
        const pending = openvpn.transcript.find((entry) =>
          entry.line.startsWith(`client-pending-auth ${ALICE} 1 `)
        )!;
        assert(pending.line.endsWith(" 15"), `OpenVPN's own timeout is 15 s: ${pending.line}`);
        assert(auth.at - pending.at < 15_000, "client-auth came before OpenVPN's own timeout");
      },
    ),
});
