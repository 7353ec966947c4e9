/**
 * Fencing: the holder of the management link is paused (SIGSTOP) past its lease while OpenVPN
 * sends it client events, another instance takes the lease, and the paused one is resumed
 * (SIGCONT). The management transcript (every line with the connection it came on) shows that
 * the woken instance writes nothing more to OpenVPN, and that the new holder connects once the
 * old link is closed (OpenVPN serves one management client at a time) and answers from then on.
 */
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { clientEnv } from "../../support/bridge_harness.ts";
import { ClusterLab, type Instance, LEASE_MS } from "../../support/cluster_lab.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

const CAROL = clientEnv({ common_name: "carol", session_id: "", session_state: "Initial" });

async function waitLease(lab: ClusterLab, instance: Instance): Promise<void> {
  await pollUntil(
    `${instance.id} to take the lease`,
    async () => (await lab.leases(instance)).includes("default") ? true : undefined,
    LEASE_MS + 4_000,
    50,
  );
}

/** The new holder answers on its own connection, and only it writes. */
async function newHolderAnswers(lab: ClusterLab): Promise<void> {
  const openvpn = lab.openvpn;
  const mark = openvpn.transcript.length;
  openvpn.sendClientBlock("REAUTH", 13, 1, clientEnv({ common_name: "bypass-router" }));
  await openvpn.waitForLine((line) => line === "client-auth-nt 13 1");
  assert(openvpn.transcript.slice(mark).every((entry) => entry.connection === 2));
  assertMatch((await lab.leaseHolder()) ?? "", /^bridge-b#\d+$/);
}

Deno.test({
  name: "a holder paused past its lease writes nothing to OpenVPN after waking",
  fn: () =>
    ClusterLab.withHolderAndStandby({}, async (lab, a, b) => {
      assertEquals(await lab.leases(b), []);
      const openvpn = lab.openvpn;

      Deno.kill(a.bridge.pid, "SIGSTOP");
      const pausedAt = openvpn.transcript.length;
      // Events the paused holder finds on waking: a bypass-listed client without a session
      // (answered without any store call) and a new client (a sign-in link).
      openvpn.sendClientBlock(
        "REAUTH",
        11,
        2,
        clientEnv({ common_name: "bypass-router", session_id: "" }),
      );
      openvpn.sendClientBlock("CONNECT", 12, 1, CAROL);
      await waitLease(lab, b);
      assertEquals(openvpn.connections, 1, "b waits for its turn, as with OpenVPN");

      Deno.kill(a.bridge.pid, "SIGCONT");
      await a.bridge.waitForLog(/no longer holds the lease/, 10_000);
      await openvpn.waitForConnections(2, 10_000);
      await lab.waitHolding(b);
      const fromA = openvpn.transcript.slice(pausedAt).filter((entry) => entry.connection === 1);
      assertEquals(fromA, [], "the woken instance wrote nothing to OpenVPN");
      await newHolderAnswers(lab);
    }),
});

Deno.test({
  name: "a holder paused in the middle of answering a client is fenced: its answer is not written",
  fn: () =>
    ClusterLab.withHolderAndStandby({ proxied: true }, async (lab, a, b) => {
      const openvpn = lab.openvpn;
      const pausedAt = openvpn.transcript.length;
      // a's store write for carol's sign-in never gets an answer; a is paused while waiting.
      a.proxy!.cut();
      openvpn.sendClientBlock("CONNECT", 12, 1, CAROL);
      await pollUntil(
        "a to ask the store about carol",
        () => a.proxy!.dropped.includes("carol") ? true : undefined,
        5_000,
        1,
      );
      Deno.kill(a.bridge.pid, "SIGSTOP");
      await waitLease(lab, b);

      // On waking, a's store call times out and a answers carol with a deny: the fence
      // refuses that write, because a's lease ran out while it was paused.
      Deno.kill(a.bridge.pid, "SIGCONT");
      await openvpn.waitForConnections(2, 10_000);
      await lab.waitHolding(b);
      const fromA = openvpn.transcript.slice(pausedAt).filter((entry) => entry.connection === 1);
      assertEquals(fromA, [], "the woken instance wrote nothing to OpenVPN");
      // Written as a wakes (its store call's timer is overdue); a bound, not a timing assert.
      await a.bridge.waitForLog(/Not written: this instance lost the lease/, 5_000);
      await newHolderAnswers(lab);
    }),
});
