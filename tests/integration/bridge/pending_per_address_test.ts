/**
 * `openvpn.max_pending_per_address` through the real daemon (README, `max-clients`): clients
 * without a certificate from one address get sign-in links up to the cap, the next is stopped with
 * HALT and its reason on the management wire, and a sign-in finished in the browser frees its place.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv, WITHOUT_CERTIFICATE } from "../../support/bridge_harness.ts";

const FROM_ONE_HOST = { ...WITHOUT_CERTIFICATE, username: "", untrusted_ip: "203.0.113.66" };

Deno.test("max_pending_per_address = 2: the third CONNECT from one address is HALTed; a finished sign-in frees a place", async () => {
  const h = await BridgeHarness.start({
    servers: [{ name: "default", toml: "max_pending_per_address = 2" }],
  });
  try {
    const first = await h.connect(1, { ...FROM_ONE_HOST, session_id: "s-1" });
    await h.connect(2, { ...FROM_ONE_HOST, session_id: "s-2" });
    let mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("CONNECT", 3, 1, clientEnv({ ...FROM_ONE_HOST, session_id: "s-3" }));
    assertEquals(
      await h.waitForCommand(mark, (line) => line.startsWith("client-kill 3 ")),
      'client-kill 3 "HALT,Too many sign-ins from your address; try again in a few minutes"',
    );
    mark = h.openvpn.received.length;
    const page = await h.browserLogin(first, "alice", "alice-password");
    assertEquals(page.status, 200);
    await h.waitForCommand(mark, (line) => line.startsWith("client-auth 1 1"));
    await h.connect(4, { ...FROM_ONE_HOST, session_id: "s-4" });
  } finally {
    await h.stop();
  }
});
