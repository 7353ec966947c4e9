/**
 * `openvpn.web_auth_flags` through the bridge and a scripted management interface: each server's
 * `client-pending-auth` carries that server's flags (`WEB_AUTH:external:<url>`), the login URL in
 * it signs in as without flags, and a reload changes the flags for the next CONNECT.
 */
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";

const EXTERNAL = 'web_auth_flags = ["external"]';

/** The `client-pending-auth` the bridge sends `server` for a CONNECT on `cid`. */
async function pendingAuthLine(h: BridgeHarness, server: string, cid: number): Promise<string> {
  const mark = h.server(server).received.length;
  h.server(server).sendClientBlock(
    "CONNECT",
    cid,
    1,
    clientEnv({ common_name: "alice", session_id: `s-${server}-${cid}` }),
  );
  return await h.waitForCommand(
    mark,
    (line) => line.startsWith(`client-pending-auth ${cid} 1 `),
    5000,
    server,
  );
}

Deno.test("web_auth_flags: the pending-auth line carries the server's flags, the sign-in works, and a reload changes them", async () => {
  const h = await BridgeHarness.start({
    servers: [{ name: "udp" }, { name: "tcp", toml: EXTERNAL }],
  });
  try {
    const login = `"WEB_AUTH:external:${h.baseUrl}/login/[A-Za-z0-9_-]{27}"`;
    assertMatch(
      await pendingAuthLine(h, "tcp", 0),
      new RegExp(`^client-pending-auth 0 1 ${login} \\d+$`),
    );
    // The other server has none: WEB_AUTH::<url>, as before.
    assertMatch(
      await pendingAuthLine(h, "udp", 0),
      new RegExp(`^client-pending-auth 0 1 "WEB_AUTH::${h.baseUrl}/login/`),
    );

    const url = await h.connect(1, { common_name: "alice", session_id: "s-alice" }, "tcp");
    const mark = h.server("tcp").received.length;
    const page = await h.browserLogin(url, "alice", "alice-password");
    assertEquals(page.status, 200);
    await h.waitForCommand(mark, (line) => line === "client-auth 1 1", 5000, "tcp");

    const { kept } = await h.reload(h.toml.replace(EXTERNAL, "web_auth_flags = []"));
    assertEquals(kept, []);
    assertMatch(
      await pendingAuthLine(h, "tcp", 2),
      new RegExp(`^client-pending-auth 2 1 "WEB_AUTH::${h.baseUrl}/login/`),
    );
  } finally {
    await h.stop();
  }
});
