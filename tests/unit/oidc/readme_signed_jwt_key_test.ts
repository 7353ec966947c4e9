/**
 * The README's Keycloak section gives an openssl command for the Signed JWT key: what it makes
 * must be a key private_key_jwt takes (PKCS#8, RS256 as the default private_key_alg) that the
 * packaged service's group can read (openssl writes it 0600 for root alone, and the service, run
 * as its own user, would exit 2 at start), and the command in the README must be the one run here.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { privateKeyProblem } from "../../../src/oidc/private_key.ts";

const README = new URL("../../../README.md", import.meta.url);
const UNIT = new URL("../../../packaging/deb/openvpn-auth-oidc.service", import.meta.url);
const KEY = "/etc/openvpn-auth-oidc/client-key.pem";

/** The group the packaged unit runs the service as (its `Group=`). */
async function serviceGroup(): Promise<string> {
  const group = /^Group=(\S+)$/m.exec(await Deno.readTextFile(UNIT))?.[1];
  assert(group !== undefined, "no Group= in the packaged unit");
  return group;
}

Deno.test("the README's openssl command for a Signed JWT key makes a key private_key_jwt accepts for RS256, readable by the service's group", async () => {
  const readme = await Deno.readTextFile(README);
  const command = /```sh\n\s*(openssl req -x509 [^`]+?)\n\s*```/.exec(readme)?.[1];
  assert(command !== undefined, "no openssl command in the README");
  const group = await serviceGroup();
  assertStringIncludes(command, `chgrp ${group} ${KEY}`);
  // The service's group may not exist here. As root the key goes to a group the test is not in,
  // which only the README's chgrp can have done; otherwise to the test's own group.
  const gid = Deno.uid() === 0 ? 65534 : Deno.gid()!;
  const dir = await Deno.makeTempDir({ prefix: "readme-key-" });
  try {
    // The README's paths and group, moved into the test's directory and to `gid`.
    const script = command
      .replaceAll(KEY, `${dir}/client-key.pem`)
      .replaceAll("client-cert.pem", `${dir}/client-cert.pem`)
      .replaceAll(`chgrp ${group} `, `chgrp ${gid} `)
      .replace(/\\\n\s*/g, " ");
    assertStringIncludes(script, dir);
    const result = await new Deno.Command("sh", { args: ["-c", script], stderr: "piped" })
      .output();
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    const key = await Deno.readTextFile(`${dir}/client-key.pem`);
    assertEquals(privateKeyProblem(key, "RS256"), undefined);
    const { mode, gid: keyGid } = await Deno.stat(`${dir}/client-key.pem`);
    assertEquals({ mode: mode! & 0o777, gid: keyGid }, { mode: 0o640, gid });
    assertStringIncludes(await Deno.readTextFile(`${dir}/client-cert.pem`), "BEGIN CERTIFICATE");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
