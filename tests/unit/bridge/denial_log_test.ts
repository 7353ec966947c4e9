/**
 * A denial's log line as the service writes it (the real sink, which masks credential-like
 * properties): the reason code the README promises stays readable, in text and JSON.
 */
import { assertEquals } from "../../support/assert.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { configureLogging, getLogger } from "../../../src/log.ts";
import { logDenial } from "../../../src/bridge/denial_log.ts";
import { WarningInterval } from "../../../src/warning_interval.ts";
import type { ClientSide } from "../../../src/bridge/admission_types.ts";
import { type Denial, REFRESH_TOKEN_EXPIRED } from "../../../src/bridge/denial.ts";
import { IDP_SESSION_HINT } from "../../../src/bridge/refresh_expiry.ts";

const BOB: ClientSide = {
  kind: "login",
  server: "default",
  cid: 1,
  kid: 1,
  commonName: "bob-laptop",
  clientIp: "10.200.0.2",
  username: undefined,
};
const NOT_IN_GROUP: Denial = {
  code: "group",
  reason: "You are not in a group allowed to use this VPN",
  logReason: "group",
};

function denialLine(format: "text" | "json", denial = NOT_IN_GROUP): string {
  const stderr = captureStderr();
  try {
    configureLogging("info", format);
    logDenial(getLogger("clients"), BOB, denial, {
      who: { username: "bob", subject: "u-2" },
    }, new WarningInterval(60_000, Date.now));
  } finally {
    stderr.restore();
    configureLogging("warning", "text");
  }
  const lines = stderr.lines();
  assertEquals(lines.length, 1, lines.join("\n"));
  return lines[0]!;
}

Deno.test("a denial's text log line shows its reason code, not a mask", () => {
  const line = denialLine("text");
  assertEquals(
    line.endsWith(
      `"login" of "bob" (cid 1, certificate "bob-laptop") denied: group`,
    ),
    true,
    line,
  );
  assertEquals(line.includes("***"), false, line);
});

Deno.test("a denial's JSON log line carries its reason and code", () => {
  const record = JSON.parse(denialLine("json"));
  assertEquals(
    record.message,
    `"login" of "bob" (cid 1, certificate "bob-laptop") denied: group`,
  );
  assertEquals(record.properties.reason, "group");
  assertEquals(record.properties.denialCode, "group");
});

Deno.test("a denial's reason and hint are written into its sentence, not quoted as data, in text and JSON", () => {
  const { logReason } = REFRESH_TOKEN_EXPIRED;
  const sentence = `"login" of "bob" (cid 1, certificate "bob-laptop") denied: ${logReason}; ` +
    IDP_SESSION_HINT;
  const text = denialLine("text", REFRESH_TOKEN_EXPIRED);
  assertEquals(text.endsWith(`openvpn-auth-oidc·clients: ${sentence}`), true, text);
  const record = JSON.parse(denialLine("json", REFRESH_TOKEN_EXPIRED));
  assertEquals(record.message, sentence);
  // Fields of their own all the same.
  assertEquals(record.properties.reason, logReason);
  assertEquals(record.properties.hint, IDP_SESSION_HINT);
});
