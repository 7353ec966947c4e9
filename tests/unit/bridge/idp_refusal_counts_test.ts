/**
 * What each answer of the IdP is counted and audited as, at a sign-in's callback and at a
 * REAUTH's refresh check: a user who cancelled at the IdP (or whom its policy refused) is a
 * refusal, not an IdP error; an IdP that could not be asked is `idp_unreachable` at both, apart
 * from its other failures (`idp_error` at sign-in, `recheck_failed` at a re-check).
 */
import { assertEquals } from "../../support/assert.ts";
import { LoginFlow, stateTag } from "../../../src/bridge/login_flow.ts";
import { getLogger } from "../../../src/log.ts";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
} from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";

const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const BINDING = "b".repeat(43);

/** The client's refusal (`kind cid`), the counts and the audit reasons of an IdP's answer. */
interface Counted {
  sent: string[];
  counted: string[];
  audit: string[];
}

/** Alice's sign-in on cid 4, whose callback the IdP answers with `error`. */
async function signInFailing(error: OidcError): Promise<Counted> {
  const { commands, counted, lines } = await signInFailingLogged(error);
  return counts(commands, counted, lines);
}

/** signInFailing's commands sent, counts, and log lines. */
async function signInFailingLogged(error: OidcError) {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const counted: string[] = [];
  const t = testClientEvents({
    store,
    clock,
    newLoginId: () => LOGIN_ID,
    metrics: countingMetrics(counted),
  });
  try {
    await t.events.onConnect(4, 1, testEnv({ common_name: "laptop" }));
    const login = (await store.getPending(LOGIN_ID))!;
    const state = `${stateTag(LOGIN_ID)}.state-1`;
    const oauth = { state, nonce: "n", codeVerifier: "v", browserBinding: BINDING };
    await store.updatePending({ ...login, oauth });
    t.commander.commands.length = 0;
    const flow = new LoginFlow({
      store,
      oidc: {
        startLogin: () => Promise.reject(new Error("not begun here")),
        finishLogin: () => Promise.reject(error),
      },
      commanders: () => t.commander,
      admission: t.admission,
      checkClientIp: false,
      now: clock.now,
      log: getLogger("test"),
    });
    const lines = await logsOf(() =>
      flow.complete(
        new URL(`https://vpn.example.com/oauth2/callback?state=${state}`),
        [[LOGIN_ID, BINDING]],
        "198.51.100.7",
      )
    );
    return { commands: t.commander.commands, counted, lines };
  } finally {
    t.events.close();
  }
}

/** Alice's REAUTH on cid 4 with reauth_check = "refresh", whose refresh the IdP answers so. */
async function reauthFailing(error: OidcError): Promise<Counted & { kept: boolean }> {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const counted: string[] = [];
  const t = testClientEvents({
    store,
    clock,
    reauthCheck: "refresh",
    refresh: () => Promise.reject(error),
    metrics: countingMetrics(counted),
  });
  try {
    await store.putSession(testSession());
    const lines = await logsOf(() => t.events.onReauth(4, 2, testEnv({})));
    const kept = (await store.getSession("s-1")) !== undefined;
    return { ...counts(t.commander.commands, counted, lines), kept };
  } finally {
    t.events.close();
  }
}

function counts(
  commands: ReadonlyArray<{ kind: string; cid: number }>,
  counted: string[],
  lines: ReadonlyArray<{ category: string; properties: Record<string, unknown> }>,
): Counted {
  return {
    sent: commands.map((command) => `${command.kind} ${command.cid}`),
    counted,
    audit: lines.filter((line) => line.category === "audit")
      .map(({ properties }) => `${properties.event} ${properties.reason}`),
  };
}

Deno.test("a sign-in cancelled at the IdP, or refused by the IdP's own policy (access_denied), is counted and audited as a refusal, idp_denied", async () => {
  assertEquals(
    await signInFailing(new AuthorizationResponseError("access_denied", "User cancelled")),
    {
      sent: ["halt 4"],
      counted: ["login denied", "denial idp_denied"],
      audit: ["denied idp_denied"],
    },
  );
});

Deno.test("a sign-in the IdP failed is counted as an error, idp_error", async () => {
  const failures = [
    new AuthorizationResponseError("temporarily_unavailable", "busy"),
    // The code exchange refused the bridge's client (a rotated secret): error_mapping.ts.
    new OidcError("invalid_response", "IdP refused the client's credentials: HTTP 401"),
    new IdpRejectedError("IdP rejected the grant during the code exchange: invalid_grant"),
  ];
  for (const failure of failures) {
    assertEquals(await signInFailing(failure), {
      sent: ["deny 4"],
      counted: ["login error", "denial idp_error"],
      audit: ["denied idp_error"],
    });
  }
});

Deno.test("a REAUTH whose refresh the IdP refuses is recheck_failed: a user disabled (the session ends) or the bridge's client refused (the session is kept)", async () => {
  assertEquals(await reauthFailing(new IdpRejectedError("invalid_grant")), {
    sent: ["deny 4"],
    counted: ["denial recheck_failed"],
    audit: ["session_ended recheck_failed", "reauth_denied recheck_failed"],
    kept: false,
  });
  const clientRefused = new OidcError(
    "idp_error",
    "IdP refused the refresh request itself (HTTP 401 invalid_client)",
  );
  assertEquals(await reauthFailing(clientRefused), {
    sent: ["deny 4"],
    counted: ["denial recheck_failed"],
    audit: ["reauth_denied recheck_failed"],
    kept: true,
  });
});

Deno.test("an IdP that could not be asked at sign-in is counted as an error, idp_unreachable, apart from its other failures", async () => {
  assertEquals(
    await signInFailing(new IdpUnreachableError("IdP request failed: token: ECONNREFUSED")),
    {
      sent: ["deny 4"],
      counted: ["login error", "denial idp_unreachable"],
      audit: ["denied idp_unreachable"],
    },
  );
});

Deno.test("a REAUTH whose refresh could not reach the IdP is idp_unreachable, not recheck_failed: the session is kept", async () => {
  assertEquals(
    await reauthFailing(new IdpUnreachableError("IdP request failed: token: HTTP 503")),
    {
      sent: ["deny 4"],
      counted: ["denial idp_unreachable"],
      audit: ["reauth_denied idp_unreachable"],
      kept: true,
    },
  );
});

Deno.test("a sign-in the IdP could not be asked for is logged by its cid and certificate, not as if the certificate named its user", async () => {
  const failure = new IdpUnreachableError("IdP request failed: token: ECONNREFUSED");
  const { lines } = await signInFailingLogged(failure);
  assertEquals(
    lines.filter((line) => line.category !== "audit").map((line) => line.text),
    [
      `Sign-in on cid 4 (certificate laptop) failed at the identity provider: ${failure.message}`,
      "Sign-in on cid 4 (certificate laptop) denied before the identity provider named its user: " +
      "idp_unreachable",
    ],
  );
});
