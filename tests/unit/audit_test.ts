import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { audit } from "../../src/audit.ts";
import { configureLogging } from "../../src/log.ts";
import { captureStderr } from "../support/stderr_capture.ts";

function captured(run: () => void): string[] {
  const capture = captureStderr();
  try {
    run();
  } finally {
    capture.restore();
  }
  return capture.lines();
}

const WHO = {
  server: "default",
  cid: 4,
  commonName: "alice-laptop",
  clientIp: "198.51.100.7",
  username: "alice",
  subject: "f3a1",
};

Deno.test("audit() writes one JSON line under its own category with who, where and why", () => {
  configureLogging("info", "json");
  const lines = captured(() => audit("denied", WHO, "group"));
  assertEquals(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assertEquals(record.logger, "openvpn-auth-oidc.audit");
  assertEquals(record.level, "INFO");
  assertEquals(record.properties, {
    event: "denied",
    username: "alice",
    subject: "f3a1",
    server: "default",
    cid: 4,
    commonName: "alice-laptop",
    clientIp: "198.51.100.7",
    reason: "group",
  });
});

Deno.test("audit() text lines name the event, the user and the reason", () => {
  configureLogging("info", "text");
  const [line] = captured(() => audit("session_ended", WHO, "recheck_failed"));
  assertStringIncludes(line!, "openvpn-auth-oidc·audit");
  assertStringIncludes(
    line!,
    'session ended "alice" (subject "f3a1") on "default" cid 4, certificate "alice-laptop", from "198.51.100.7": "recheck_failed"',
  );
});

Deno.test("audit lines are written even when the log level hides info", () => {
  configureLogging("error", "json");
  const lines = captured(() => audit("admitted", WHO));
  assertEquals(lines.length, 1);
});
