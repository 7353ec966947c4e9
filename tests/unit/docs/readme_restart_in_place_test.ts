/**
 * README, Provider and OpenVPN notes: OpenVPN restarted in place (SIGHUP, SIGUSR1) sends a
 * DISCONNECT for each client it had, all before its `RECONNECTING` state line. The sentence is
 * held to the measured restart as tests/support/restart_in_place.ts plays it (what 2.6.14 sent in
 * the e2e lab); the README said such a restart told nothing of the clients it had.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import type { FakeManagementServer } from "../../support/fake_management_server.ts";
import { restartInPlace, type RestartSignal } from "../../support/restart_in_place.ts";

const README = new URL("../../../README.md", import.meta.url);

/**
 * The lines restartInPlace sends for `signal` with clients on cids 1 and 0, over a stand-in for
 * the fake server whose bridge answers at once (no socket).
 */
async function restartLines(signal: RestartSignal): Promise<string[]> {
  const sent: string[] = [];
  const openvpn = {
    received: [] as string[],
    respond: undefined,
    laterStates: [] as string[],
    sendClientBlock: (kind: string, cid: number) => sent.push(`>CLIENT:${kind},${cid}`),
    sendLines: (lines: readonly string[]) => sent.push(...lines),
    waitForLine: () => Promise.resolve(""),
  };
  const departing = [{ cid: 1, env: {} }, { cid: 0, env: {} }];
  await restartInPlace(
    openvpn as unknown as FakeManagementServer,
    signal,
    departing,
    1_800_000_000,
  );
  return sent;
}

Deno.test("the README says OpenVPN restarted in place sends each client's DISCONNECT before its RECONNECTING state line, as measured", async () => {
  for (const signal of ["SIGHUP", "SIGUSR1"] as const) {
    const sent = await restartLines(signal);
    const reconnecting = sent.findIndex((line) => /^>STATE:\d+,RECONNECTING,/.test(line));
    const disconnects = sent.flatMap((line, at) =>
      line.startsWith(">CLIENT:DISCONNECT,") ? [at] : []
    );
    assertEquals(disconnects.length, 2, signal);
    assertEquals(disconnects.every((at) => at < reconnecting), true, `${signal}: ${sent}`);
  }
  // Joined: the paragraph is wrapped, its line breaks anywhere.
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  assertStringIncludes(
    readme,
    "Restarted in place (SIGHUP, or SIGUSR1 of the server) it sends a DISCONNECT for each client " +
      "it had, all before its `RECONNECTING` state line; a new process says nothing of the " +
      "clients the old one had, nor does a restart the bridge did not see (its link was down).",
  );
});
