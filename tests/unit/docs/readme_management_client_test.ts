/**
 * README, OpenVPN server configuration: OpenVPN serves one management client, so a tool pointed
 * at the bridge's management socket hangs, or, connected first, locks the bridge out. The README
 * says so there and names what to use instead.
 */
import { assert, assertStringIncludes } from "../../support/assert.ts";

const README = new URL("../../../README.md", import.meta.url);

Deno.test("the README's OpenVPN server configuration warns off other management clients and names what to use instead", async () => {
  // Joined: the paragraph is wrapped, its line breaks anywhere.
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const start = readme.indexOf("## OpenVPN server configuration");
  const end = readme.indexOf("### Renegotiation and reconnects", start);
  assert(start >= 0 && end > start, "the README's OpenVPN server configuration section");
  const section = readme.slice(start, end);
  for (
    const said of [
      "**No other management client.** OpenVPN serves one management client at a time, and the " +
      "bridge holds the socket for as long as it runs.",
      "is never answered: OpenVPN leaves its connection waiting until the bridge lets go, so the " +
      "tool hangs.",
      "locks the bridge out until it leaves",
      "read who is connected from OpenVPN's status file",
      "`openvpn-auth-oidc sessions list` and `sessions revoke`, and watch the bridge's `/metrics`.",
    ]
  ) assertStringIncludes(section, said);
});
