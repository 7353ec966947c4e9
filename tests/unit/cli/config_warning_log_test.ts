/**
 * A config warning as the service logs it at start and at a reload, through the real sink: the
 * file a quoted value, the key path and the message the sentence's words. It was one quoted
 * string, whose quote character changed with the quotes inside it.
 */
import { assertEquals } from "../../support/assert.ts";
import { linesLogged } from "../../support/stderr_capture.ts";
import { logConfigWarning } from "../../../src/cli.ts";
import { WHOLE_FILE } from "../../../src/config_loader/errors.ts";
import { getLogger } from "../../../src/log.ts";

const UNUSED_ALG = 'Not used when client_auth_method is "client_secret_basic" (only ' +
  '"private_key_jwt" reads it)';

/** The message of each line the warnings write, in `format`. */
function messages(format: "text" | "json"): string[] {
  const lines = linesLogged(format, false, () => {
    const log = getLogger("config");
    logConfigWarning(log, "/etc/x.toml", {
      path: "oidc.private_key_alg",
      line: 17,
      message: UNUSED_ALG,
    });
    logConfigWarning(log, "/etc/x.toml", {
      path: WHOLE_FILE,
      message: "Can be changed by other users (mode 0642)",
    });
  });
  return lines.map((line) =>
    format === "json" ? JSON.parse(line).message : line.replace(/^.*?config: /, "")
  );
}

Deno.test("a config warning's line quotes the file, and writes its place and message as the sentence", () => {
  for (const format of ["text", "json"] as const) {
    assertEquals(messages(format), [
      `"/etc/x.toml": oidc.private_key_alg (line 17): ${UNUSED_ALG}`,
      '"/etc/x.toml": Can be changed by other users (mode 0642)',
    ], format);
  }
});
