/**
 * Which control.socket paths the config takes: absolute (the admin command and the service must
 * agree on it), no control characters, and short enough for `sockaddr_un` (107 bytes and its NUL),
 * counted in bytes, not characters.
 */
import { assertEquals } from "../../support/assert.ts";
import { controlSocketProblem } from "../../../src/control/socket_path.ts";

Deno.test("controlSocketProblem() takes an absolute path, and an empty one (socket off)", () => {
  assertEquals(controlSocketProblem("/run/openvpn-auth-oidc/control.sock"), undefined);
  assertEquals(controlSocketProblem(""), undefined);
});

Deno.test("controlSocketProblem() refuses a relative path", () => {
  assertEquals(
    controlSocketProblem("run/control.sock"),
    'Expected an absolute path, got "run/control.sock"',
  );
});

for (const char of ["\u0000", "\n", "\u001f", "\u007f"]) {
  Deno.test(
    `controlSocketProblem() refuses a path with U+${
      char.charCodeAt(0).toString(16).padStart(4, "0")
    }`,
    () => {
      assertEquals(
        controlSocketProblem(`/run/a${char}b.sock`),
        "Must not contain control characters",
      );
    },
  );
}

Deno.test("controlSocketProblem() takes a path of 107 bytes, refuses one of 108", () => {
  assertEquals(controlSocketProblem("/" + "a".repeat(106)), undefined);
  assertEquals(
    controlSocketProblem("/" + "a".repeat(107)),
    "A unix socket path holds at most 107 bytes, got 108",
  );
});

Deno.test("controlSocketProblem() counts a path's bytes, not its characters", () => {
  // 55 characters, 109 bytes in UTF-8.
  assertEquals(
    controlSocketProblem("/" + "é".repeat(54)),
    "A unix socket path holds at most 107 bytes, got 109",
  );
});
