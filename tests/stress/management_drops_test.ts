/**
 * The management socket is dropped 100 times in the middle of REAUTH storms: the bridge (the
 * real daemon, file store) must reconnect every time, answer every REAUTH that arrives after a
 * reconnect, deny nobody, and keep every established session.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "../../src/daemon.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { assertEquals } from "../support/assert.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import { FakeManagementServer } from "../support/fake_management_server.ts";
import { parseInlineToml } from "../support/config_toml.ts";
import { freePort } from "../support/free_port.ts";
import { startIdpForBridges } from "../support/idp/mod.ts";
import { fileStoreToml, localConfigToml } from "../support/service_process.ts";
import { establishedSession, sessionIdOf, statusWithClients } from "./_fixtures.ts";

const CLIENTS = 50;
const BURST = 20;
const DROPS = 100;

function reauthEnv(client: number): Record<string, string> {
  return clientEnv({
    common_name: `user${client}`,
    session_id: sessionIdOf(client),
    untrusted_port: String(40000 + client),
  });
}

Deno.test("bridge survives 100 management socket drops during REAUTH storms and keeps every session", async () => {
  const port = await freePort();
  const idp = await startIdpForBridges([`http://127.0.0.1:${port}`], "stress-secret");
  const openvpn = await FakeManagementServer.start({ transport: "unix" });
  openvpn.respond = (command) => command === "status 3" ? statusWithClients(CLIENTS) : "default";
  const dir = mkdtempSync(join(tmpdir(), "stress-drops-"));
  const address = openvpn.address.kind === "unix" ? openvpn.address.path : "";
  const toml = localConfigToml({
    dir,
    port,
    management: `unix://${address}`,
    openvpnLines: ['command_timeout = "3s"', 'reconnect_max_delay = "100ms"'],
    secret: "stress-secret-stress-secret-stress-secret",
    issuer: idp.issuer,
    clientSecret: "stress-secret",
    rest: fileStoreToml(dir),
  });
  const { config } = parseInlineToml(toml, "stress.toml");
  const seed = await openSessionStore(config.sessions, config.http.secret);
  for (let client = 0; client < CLIENTS; client++) {
    await seed.putSession(establishedSession(client, Date.now()));
  }
  await seed.close();

  const service = await startDaemon(config);
  const statusCount = () => openvpn.received.filter((line) => line === "status 3").length;
  const answered = (cid: number, kid: number) =>
    openvpn.waitForLine(
      (line) =>
        line === `client-auth-nt ${cid} ${kid}` || line.startsWith(`client-deny ${cid} ${kid} `),
      10_000,
    );
  try {
    await openvpn.waitForLine("status 3", 10_000);
    let kid = 2;
    for (let drop = 0; drop < DROPS; drop++) {
      // A storm sent on a settled link: every REAUTH must be accepted.
      const first = (drop * BURST) % CLIENTS;
      const clients = Array.from({ length: BURST }, (_, i) => (first + i) % CLIENTS);
      for (const client of clients) {
        openvpn.sendClientBlock("REAUTH", client, kid, reauthEnv(client));
      }
      const answers = await Promise.all(clients.map((client) => answered(client, kid)));
      assertEquals(answers, clients.map((client) => `client-auth-nt ${client} ${kid}`));
      kid++;
      // A storm cut short: OpenVPN goes away while the bridge is answering.
      for (const client of clients) {
        openvpn.sendClientBlock("REAUTH", client, kid, reauthEnv(client));
      }
      kid++;
      const statusesBefore = statusCount();
      await openvpn.closeClient();
      await openvpn.waitForConnections(drop + 2, 10_000);
      // Reconnected and reconciled: the next storm goes to a settled link.
      await openvpn.waitForLine(() => statusCount() > statusesBefore, 10_000);
    }
    assertEquals(openvpn.connections, DROPS + 1);

    // Every established session is still valid after all the drops.
    for (let client = 0; client < CLIENTS; client++) {
      openvpn.sendClientBlock("REAUTH", client, kid, reauthEnv(client));
    }
    const final = await Promise.all(
      Array.from({ length: CLIENTS }, (_, client) => answered(client, kid)),
    );
    assertEquals(final, Array.from({ length: CLIENTS }, (_, c) => `client-auth-nt ${c} ${kid}`));
    assertEquals(openvpn.received.filter((line) => line.startsWith("client-deny")), []);
  } finally {
    await service.stop();
    await openvpn.stop();
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
