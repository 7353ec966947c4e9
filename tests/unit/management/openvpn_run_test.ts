import { assertEquals } from "../../support/assert.ts";
import { openvpnRun, pidFromReply, stateFromReply } from "../../../src/management/openvpn_run.ts";

Deno.test("pid and state replies, as OpenVPN 2.6 sends them, name the run; anything else does not", () => {
  assertEquals(pidFromReply({ ticket: 1, type: "success", message: "pid=28115" }), 28115);
  assertEquals(pidFromReply({ ticket: 1, type: "error", message: "pid=28115" }), undefined);
  assertEquals(pidFromReply({ ticket: 1, type: "success", message: "pid=x" }), undefined);
  const connected = stateFromReply({
    ticket: 2,
    type: "lines",
    lines: ["1795879225,CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194"],
    truncated: false,
  });
  assertEquals(connected, { time: 1795879225, state: "CONNECTED" });
  assertEquals(openvpnRun(28115, connected!), "28115@1795879225:CONNECTED");
  // A SIGHUP changes the state (and its time), not the pid: another run.
  assertEquals(
    openvpnRun(28115, { time: 1795879300, state: "RECONNECTING" }) ===
      openvpnRun(28115, connected!),
    false,
  );
  for (const lines of [[], ["END"], ["garbage"], [",CONNECTED,"]]) {
    assertEquals(stateFromReply({ ticket: 2, type: "lines", lines, truncated: false }), undefined);
  }
  assertEquals(stateFromReply({ ticket: 2, type: "error", message: "x" }), undefined);
});
