/**
 * `make demo`, the README's first command, runs its whole story on this machine: alice signs in
 * and her tunnel carries pings with her group's route pushed, bob (in no allowed group) is
 * refused, the bridge stops cleanly, and everything the demo started is gone. The demo checks
 * each step itself and exits 1 on the first that fails. Needs root, openvpn and chromium.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";

const skip = announceSkip("the make demo test", browserLabSkipReason());
const DEMO = new URL("./demo.ts", import.meta.url).pathname;

Deno.test({
  name: "make demo: alice's tunnel comes up and carries pings, bob is refused, all is torn down",
  ignore: skip !== undefined,
  async fn() {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", DEMO],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(240_000),
    }).output();
    const stdout = new TextDecoder().decode(result.stdout);
    const stderr = new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 0, `${stdout}\n${stderr}`);
    assertMatch(stdout, /Signed in as alice; the tunnel is up: .* 3\/3 pings answered/);
    assertMatch(stdout, /The server pushed alice's group route: \d+\.\d+\.\d+\.\d+ /);
    assertMatch(stdout, /The server stops the VPN client \(HALT\): ".+"/);
    assertStringIncludes(stdout, "The bridge stopped cleanly (exit code 0).");
    assertStringIncludes(stdout, "Done: everything the demo started is gone.");
  },
});
