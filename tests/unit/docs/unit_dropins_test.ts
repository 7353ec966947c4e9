/**
 * Every ```ini block of README.md and docs/*.md is a drop-in over the packaged unit, the way
 * `systemctl edit openvpn-auth-oidc` adds it: a whole unit in its place would run the service as
 * root, without the hardening, its runtime directory (the control socket's) or
 * RestartPreventExitStatus=2. `systemd-analyze verify` of the packaged unit with the block as its
 * drop-in prints nothing.
 */
import { assertEquals } from "../../support/assert.ts";
import { documentationBlocks } from "../../support/markdown_blocks.ts";
import { announceSkip, findExecutable } from "../../e2e/lib/requirements.ts";

const UNIT_NAME = "openvpn-auth-oidc.service";
const UNIT = new URL(`../../../packaging/deb/${UNIT_NAME}`, import.meta.url);
/** What the packaged unit keeps and a drop-in must not set again. */
const PACKAGED_ONLY = /^(ExecStart|User|Group|RuntimeDirectory|StateDirectory)=/m;

const skip = announceSkip(
  "systemd-analyze verify of the docs' drop-ins",
  findExecutable("systemd-analyze") === undefined
    ? "missing systemd-analyze (apt-get install systemd)"
    : undefined,
);

for (const block of documentationBlocks("ini")) {
  const where = `${block.file}:${block.line}`;

  Deno.test(`${where}: the \`\`\`ini block is a [Service] drop-in that leaves the packaged unit's settings alone`, () => {
    assertEquals(block.text.match(/^\[.*\]$/gm), ["[Service]"], "sections of the block");
    assertEquals(PACKAGED_ONLY.exec(block.text)?.[0], undefined, "a setting of the packaged unit");
  });

  Deno.test({
    name:
      `${where}: systemd-analyze verify takes the packaged unit with the \`\`\`ini block as its drop-in`,
    ignore: skip !== undefined,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "docs-dropin-" });
      try {
        // The binary is not installed here: verify would say so (for ExecStart and ExecReload's
        // check), and nothing else.
        const unit = (await Deno.readTextFile(UNIT))
          .replace(/^(Exec\w+)=\/usr\/bin\/openvpn-auth-oidc\b/gm, "$1=/bin/true");
        await Deno.writeTextFile(`${dir}/${UNIT_NAME}`, unit);
        await Deno.mkdir(`${dir}/${UNIT_NAME}.d`);
        await Deno.writeTextFile(`${dir}/${UNIT_NAME}.d/docs.conf`, block.text);
        const result = await new Deno.Command("systemd-analyze", {
          args: ["verify", `${dir}/${UNIT_NAME}`],
          // The trailing ":" keeps systemd's own directories, for the units ours names.
          env: { SYSTEMD_UNIT_PATH: `${dir}:` },
        }).output();
        const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
        // verify only warns about a bad value (exit 0): the empty output is what counts.
        assertEquals([result.code, decode(result.stderr), decode(result.stdout)], [0, "", ""]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
