/**
 * README "Scripts, plugins and ccd-exclusive beside the bridge": the line it gives an
 * `auth-user-pass-verify` script for `auth-gen-token ... external-auth` must let through a client
 * whose token OpenVPN accepted (`session_state=Authenticated`) and nothing else: the script's own
 * check goes on for every other state (openvpn(8) warns that accepting an Expired or Invalid token
 * bypasses authentication). Run with sh, as OpenVPN runs such a script, the README's text itself.
 */
import { assert, assertEquals } from "../../support/assert.ts";

const README = new URL("../../../README.md", import.meta.url);

/** What the script does after the README's line: here, exit 7 ("checked the password"). */
const OWN_CHECK = 7;

async function exitCode(line: string, sessionState: string | undefined): Promise<number> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  if (sessionState !== undefined) env.session_state = sessionState;
  const script = `${line}\nexit ${OWN_CHECK}\n`;
  const result = await new Deno.Command("sh", { args: ["-c", script], env, clearEnv: true })
    .output();
  return result.code;
}

Deno.test("the README's script line for external-auth accepts session_state=Authenticated alone", async () => {
  const readme = await Deno.readTextFile(README);
  const line = /script that begins\s+`([^`]+)`/.exec(readme)?.[1];
  assert(line !== undefined, "no script line in the README");
  assertEquals(await exitCode(line, "Authenticated"), 0);
  for (const state of ["Initial", "Expired", "Invalid", "AuthenticatedEmptyUser", "", undefined]) {
    assertEquals(await exitCode(line, state), OWN_CHECK, `session_state=${state}`);
  }
});
