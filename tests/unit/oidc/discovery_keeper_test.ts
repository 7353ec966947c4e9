/**
 * Background discovery on a fake clock: a failure is tried again DISCOVERY_RETRY_MS later and
 * warned about at most once a minute, the discovery that works is handed on once, and a stop
 * ends the retries, those of a discovery still under way included.
 */
import type { AuthorizationServer } from "oauth4webapi";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { getLogger } from "../../../src/log.ts";
import { DISCOVERY_RETRY_MS, keepDiscovering } from "../../../src/oidc/discovery_keeper.ts";
import { WARNING_INTERVAL_MS } from "../../../src/warning_interval.ts";

const ISSUER = "https://idp.example.com/realms/vpn";
const DOCUMENT: AuthorizationServer = { issuer: ISSUER };

/** Lets the keeper's promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A keeper whose IdP fails the first `failures` discoveries; `answer` may hold one back. */
function setup(failures: number, answer?: Promise<void>) {
  const clock = new FakeClock();
  const discovered: AuthorizationServer[] = [];
  let asked = 0;
  const keeper = keepDiscovering({
    oidc: {
      discover: async () => {
        asked++;
        await answer;
        if (asked <= failures) throw new Error("IdP answered HTTP 503");
        return DOCUMENT;
      },
    },
    issuer: ISSUER,
    clock,
    log: getLogger("test"),
    onDiscovered: (as) => discovered.push(as),
  });
  return { clock, discovered, keeper, asked: () => asked };
}

Deno.test("keepDiscovering() retries every DISCOVERY_RETRY_MS, warns once a minute with the count (those in between at debug), and says once when it works", async () => {
  // Failures at 0 s, 5 s, ... 65 s: warned at 0 s and at 60 s (11 in between); works at 70 s.
  const failures = WARNING_INTERVAL_MS / DISCOVERY_RETRY_MS + 2;
  let t!: ReturnType<typeof setup>;
  const lines = await logsOf(async () => {
    t = setup(failures);
    for (let i = 0; i < failures; i++) {
      await settle();
      assertEquals(t.clock.pendingTimers, 1, `retry ${i + 1} armed`);
      t.clock.advance(DISCOVERY_RETRY_MS);
    }
    await settle();
  });
  assertEquals(t.asked(), failures + 1);
  assertEquals(t.discovered, [DOCUMENT]);
  assertEquals(t.clock.pendingTimers, 0);
  assertEquals(new Set(t.clock.delays), new Set([DISCOVERY_RETRY_MS]));
  const failed = lines.filter((line) => line.text.startsWith("OIDC discovery at"));
  const warnings = failed.filter((line) => line.level === "warning");
  assertEquals(warnings.map((line) => line.properties["more"]), [undefined, 11]);
  assertStringIncludes(
    warnings[1]!.text,
    "failed, retrying every 5 s: Error: IdP answered HTTP 503",
  );
  assertStringIncludes(warnings[1]!.text, "(11 more since the last)");
  // The others are not lost: each is at debug, whole (the 11 counted, and the one at 65 s).
  const between = failed.filter((line) => line.level === "debug");
  assertEquals(between.length, failures - warnings.length);
  assertEquals(between[0]!.text, warnings[0]!.text);
  const infos = lines.filter((line) => line.level === "info");
  assertEquals(infos.map((line) => line.properties["failures"]), [failures]);
  t.keeper.stop();
});

Deno.test("keepDiscovering(): stop() ends the retries, and a discovery under way that fails afterwards arms none", async () => {
  let answer!: () => void;
  const t = setup(2, new Promise((resolve) => (answer = resolve)));
  answer();
  await settle();
  assertEquals(t.clock.pendingTimers, 1);
  t.keeper.stop();
  assertEquals(t.clock.pendingTimers, 0);
  // Stopped while the next discovery waits for its answer, which then fails.
  let second!: () => void;
  const held = setup(1, new Promise((resolve) => (second = resolve)));
  held.keeper.stop();
  second();
  await settle();
  assertEquals([held.asked(), held.clock.pendingTimers, held.clock.delays], [1, 0, []]);
});
