/**
 * The README's Keycloak section gives an openssl command for the Signed JWT key: what it makes
 * must be a key private_key_jwt takes (PKCS#8, RS256 as the default private_key_alg), and the
 * command in the README must be the one run here.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { privateKeyProblem } from "../../../src/oidc/private_key.ts";

const README = new URL("../../../README.md", import.meta.url);

Deno.test("the README's openssl command for a Signed JWT key makes a key private_key_jwt accepts for RS256", async () => {
  const readme = await Deno.readTextFile(README);
  const command = /```sh\n\s*(openssl req -x509 [^`]+?)\n\s*```/.exec(readme)?.[1];
  assert(command !== undefined, "no openssl command in the README");
  const dir = await Deno.makeTempDir({ prefix: "readme-key-" });
  try {
    // The README's paths, moved into the test's directory.
    const script = command
      .replaceAll("/etc/openvpn-auth-oidc/client-key.pem", `${dir}/client-key.pem`)
      .replaceAll("client-cert.pem", `${dir}/client-cert.pem`)
      .replace(/\\\n\s*/g, " ");
    assertStringIncludes(script, dir);
    const result = await new Deno.Command("sh", { args: ["-c", script], stderr: "piped" })
      .output();
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    const key = await Deno.readTextFile(`${dir}/client-key.pem`);
    assertEquals(privateKeyProblem(key, "RS256"), undefined);
    assertStringIncludes(await Deno.readTextFile(`${dir}/client-cert.pem`), "BEGIN CERTIFICATE");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
