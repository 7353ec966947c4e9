import process from "node:process";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { audit } from "../../src/audit.ts";
import { configureLogging } from "../../src/log.ts";

function captureStderr(run: () => void): string[] {
  const lines: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    lines.push(...String(chunk).split("\n").filter((l) => l !== ""));
    return true;
  }) as typeof process.stderr.write;
  try {
    run();
  } finally {
    process.stderr.write = original;
  }
  return lines;
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
  const lines = captureStderr(() => audit("denied", WHO, "group"));
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
  const [line] = captureStderr(() => audit("session_ended", WHO, "recheck_failed"));
  assertStringIncludes(line!, "openvpn-auth-oidc·audit");
  assertStringIncludes(
    line!,
    'session ended "alice" (subject "f3a1") on "default" cid 4, certificate "alice-laptop", from "198.51.100.7": "recheck_failed"',
  );
});

Deno.test("audit lines are written even when the log level hides info", () => {
  configureLogging("error", "json");
  const lines = captureStderr(() => audit("admitted", WHO));
  assertEquals(lines.length, 1);
});
