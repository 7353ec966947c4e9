/**
 * `help check-config` names every check `--probe` runs, as README's probe paragraph does: the
 * help left out the session store, control.socket's directory, another program on http.listen,
 * the loopback base_url warning and warn lines.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { type CliIo, EXIT_OK, runCli } from "../../../src/cli.ts";

async function help(args: string[]): Promise<string> {
  const out: string[] = [];
  const cli: CliIo = {
    out: (text) => out.push(text),
    err: (text) => out.push(text),
    readTextFile: () => {
      throw new Error("not expected");
    },
    env: {},
    startService: () => Promise.reject(new Error("not expected")),
    onShutdownSignal: () => {},
  };
  assertEquals(await runCli(args, cli), EXIT_OK);
  // One paragraph as one line, for phrases that the text wraps.
  return out.join("").replace(/\s+/g, " ");
}

Deno.test("help check-config says what --probe checks, warn lines and the session store included", async () => {
  const text = await help(["help", "check-config"]);
  assertEquals(await help(["check-config", "--help"]), text);
  for (
    const phrase of [
      "each OpenVPN management interface",
      "<base_url>/oauth2/callback",
      "whether [metrics] listen can be bound",
      "ok, warn or FAIL",
      "the session store as the service opens it at start",
      "sessions.path's directory can be written or created",
      "its owner lock free or held by the running service",
      "Redis: connect, authenticate, select the database and PING",
      "a refused password told from a server it cannot reach",
      "whether control.socket's directory can be written or created",
      "/run/openvpn-auth-oidc",
      "from another program, which fails",
      "a path in base_url that reaches http.listen fails",
      "A loopback base_url gets a warn line",
      "creates no file or directory",
      "Exits 0 when every check passes (warn lines included), 1 otherwise",
    ]
  ) {
    assertStringIncludes(text, phrase);
  }
});
