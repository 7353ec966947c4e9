/**
 * A denial's log line as the service writes it (the real sink, which masks credential-like
 * properties): the reason code the README promises stays readable, in text and JSON.
 */
import { assertEquals } from "../../support/assert.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { configureLogging, getLogger } from "../../../src/log.ts";
import { type DenyContext, logDenial } from "../../../src/bridge/denial_log.ts";
import { WarningInterval } from "../../../src/warning_interval.ts";
import type { ClientSide } from "../../../src/bridge/admission_types.ts";
import {
  type Denial,
  REFRESH_TOKEN_EXPIRED,
  STORE_UNAVAILABLE,
  UNKNOWN_SESSION,
  WRONG_NETWORK,
} from "../../../src/bridge/denial.ts";
import { IDP_SESSION_HINT } from "../../../src/bridge/refresh_expiry.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";

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

function denialLine(
  format: "text" | "json",
  denial = NOT_IN_GROUP,
  context: DenyContext = { who: { username: "bob", subject: "u-2" } },
  client: ClientSide = BOB,
): string {
  const stderr = captureStderr();
  try {
    configureLogging("info", format);
    logDenial(getLogger("clients"), client, denial, context, new WarningInterval(60_000, Date.now));
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
      `Sign-in of "bob" (cid 1, certificate "bob-laptop") denied: group`,
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
    `Sign-in of "bob" (cid 1, certificate "bob-laptop") denied: group`,
  );
  assertEquals(record.properties.reason, "group");
  assertEquals(record.properties.denialCode, "group");
});

Deno.test("a denial's reason and hint are written into its sentence, not quoted as data, in text and JSON", () => {
  const { logReason } = REFRESH_TOKEN_EXPIRED;
  const sentence = `Sign-in of "bob" (cid 1, certificate "bob-laptop") denied: ${logReason}; ` +
    IDP_SESSION_HINT;
  const text = denialLine("text", REFRESH_TOKEN_EXPIRED);
  assertEquals(text.endsWith(`openvpn-auth-oidc·clients: ${sentence}`), true, text);
  const record = JSON.parse(denialLine("json", REFRESH_TOKEN_EXPIRED));
  assertEquals(record.message, sentence);
  // Fields of their own all the same.
  assertEquals(record.properties.reason, logReason);
  assertEquals(record.properties.hint, IDP_SESSION_HINT);
});

Deno.test("a denial's request is written into its sentence, and JSON keeps its kind", () => {
  const alice = { username: "alice", subject: "u-1" };
  const cases: Array<[ClientSide["kind"], string]> = [
    ["login", "Sign-in"],
    ["reauth", "REAUTH"],
    // Judged by the policy after its session was resumed: OpenVPN checked its token.
    ["connect", "Token reconnect"],
  ];
  for (const [kind, request] of cases) {
    const client = { ...BOB, kind };
    const text = denialLine("text", NOT_IN_GROUP, { who: alice }, client);
    assertEquals(
      text.endsWith(
        `clients: ${request} of "alice" (cid 1, certificate "bob-laptop") denied: group`,
      ),
      true,
      text,
    );
    const record = JSON.parse(denialLine("json", NOT_IN_GROUP, { who: alice }, client));
    assertEquals([record.properties.kind, record.properties.request], [kind, request]);
  }
});

Deno.test("a sign-in denied before the IdP named its user says so in words, not with a placeholder name", () => {
  const text = denialLine("text", WRONG_NETWORK, {});
  assertEquals(
    text.endsWith(
      'clients: Sign-in on cid 1 (certificate "bob-laptop") denied before the identity ' +
        `provider named its user: ${WRONG_NETWORK.logReason}`,
    ),
    true,
    text,
  );
  const record = JSON.parse(denialLine("json", WRONG_NETWORK, {}));
  assertEquals(record.properties.username, undefined);
  assertEquals(record.properties.kind, "login");
});

Deno.test("a request the decision table refused is named by its certificate, not as a user", () => {
  const reauth: ClientSide = { ...BOB, kind: "reauth", kid: 2 };
  const text = denialLine("text", UNKNOWN_SESSION, { presented: undefined }, reauth);
  assertEquals(
    text.endsWith(
      `clients: REAUTH on cid 1 (certificate "bob-laptop") denied: ${UNKNOWN_SESSION.logReason}`,
    ),
    true,
    text,
  );
  const record = JSON.parse(denialLine("json", UNKNOWN_SESSION, { presented: undefined }, reauth));
  assertEquals([record.properties.kind, record.properties.request], ["reauth", "REAUTH"]);
});

Deno.test("a store failure's denial line says the store's error once: not again after a reason that says it, whole after one that does not", () => {
  const connect: ClientSide = { ...BOB, kind: "connect" };
  const reauth: ClientSide = { ...BOB, kind: "reauth" };
  const storeDown = (message: string, denial: Denial, client: ClientSide) =>
    JSON.parse(denialLine("json", denial, {
      presented: undefined,
      storeError: new StoreUnavailableError(message),
    }, client)).message;
  assertEquals(
    storeDown("Session store unreachable: redis: ECONNREFUSED", STORE_UNAVAILABLE, connect),
    `CONNECT on cid 1 (certificate "bob-laptop") denied: session store unreachable: ` +
      `"redis: ECONNREFUSED"`,
  );
  // Another store's words, and a REAUTH the decision table refused for a reason of its own.
  assertEquals(
    storeDown("Session store unavailable: /var/s.db: busy", STORE_UNAVAILABLE, connect),
    `CONNECT on cid 1 (certificate "bob-laptop") denied: session store unreachable: ` +
      `"Session store unavailable: /var/s.db: busy"`,
  );
  assertEquals(
    storeDown("Session store unreachable: redis: ECONNREFUSED", UNKNOWN_SESSION, reauth),
    `REAUTH on cid 1 (certificate "bob-laptop") denied: ${UNKNOWN_SESSION.logReason}: ` +
      `"Session store unreachable: redis: ECONNREFUSED"`,
  );
});
