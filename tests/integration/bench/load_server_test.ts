/**
 * The bench's load generator (bench/lib/load_server.ts) counts every answer a responder can give
 * a block: a refused new client is halted with `client-kill {cid} "HALT,..."`, which names no
 * key id, and counts apart from `client-deny`.
 */
import { assertEquals } from "../../support/assert.ts";
import { clientBlockLines, wire } from "../../support/openvpn_side.ts";
import { type Answer, LoadServer } from "../../../bench/lib/load_server.ts";

Deno.test("LoadServer.run() counts a client-kill as the answer to its cid's block", async () => {
  const server = await LoadServer.start();
  const bridge = await Deno.connect({ transport: "unix", path: server.path });
  try {
    // The greeting comes once the server took the connection.
    await bridge.read(new Uint8Array(1024));
    const answers: Answer[] = [];
    server.onAnswer((answer) => answers.push(answer));
    const block = (cid: number, kid: number) => ({
      cid,
      kid,
      text: wire(clientBlockLines("CONNECT", cid, kid, {})),
    });
    const run = server.run([block(5, 3), block(6, 1)], { timeoutMs: 2_000 });
    await bridge.write(
      new TextEncoder().encode('client-kill 5 "HALT,refused"\nclient-deny 6 1 "failed"\n'),
    );
    const result = await run;
    assertEquals(result.answered, 2);
    assertEquals(result.kinds, { "client-kill": 1, "client-deny": 1 });
    assertEquals(
      answers.map(({ kind, cid, kid, line }) => ({ kind, cid, kid, line })),
      [
        { kind: "client-kill", cid: 5, kid: 3, line: 'client-kill 5 "HALT,refused"' },
        { kind: "client-deny", cid: 6, kid: 1, line: 'client-deny 6 1 "failed"' },
      ],
    );
  } finally {
    bridge.close();
    await server.stop();
  }
});
