import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import {
  WEB_AUTH_FLAGS,
  webAuthFlagProblem,
  webAuthFlagsProblems,
} from "../../../src/management/web_auth_flags.ts";

Deno.test("webAuthFlagProblem() takes external, the one flag the bridge sends", () => {
  assertEquals([...WEB_AUTH_FLAGS], ["external"]);
  assertEquals(webAuthFlagProblem("external"), undefined);
});

Deno.test("webAuthFlagProblem() says why hidden and proxy, which OpenVPN defines, are not sent", () => {
  assertStringIncludes(webAuthFlagProblem("hidden")!, "Not supported: a client that honours it");
  assertStringIncludes(webAuthFlagProblem("hidden")!, "ACTION_REQUIRED");
  assertStringIncludes(webAuthFlagProblem("proxy")!, "Not supported: it is written proxy=");
});

Deno.test("webAuthFlagProblem() names an unknown flag and the ones OpenVPN defines", () => {
  assertEquals(
    webAuthFlagProblem("extern"),
    'Unknown WEB_AUTH flag "extern": OpenVPN defines external, hidden and proxy, of which the ' +
      "bridge sends external",
  );
  for (const bad of ["External", "external,hidden", "external:x", "", " external"]) {
    assertStringIncludes(webAuthFlagProblem(bad)!, "Unknown WEB_AUTH flag", bad);
  }
});

Deno.test("webAuthFlagsProblems() gives each refused flag's index, and a flag listed twice", () => {
  assertEquals(webAuthFlagsProblems([]), []);
  assertEquals(webAuthFlagsProblems(["external"]), []);
  assertEquals(webAuthFlagsProblems(["external", "external"]), [
    { index: 1, message: 'Listed twice: "external"' },
  ]);
  assertEquals(webAuthFlagsProblems(["external", "x"]).map(({ index }) => index), [1]);
});
