/**
 * The clock warning of a Redis store (redis_clock.ts) as an operator reads it, through the real
 * sink: the direction is part of the sentence, not a quoted value (it read `70 s "ahead of"
 * Redis's`), and the JSON line still has it as a field; and when it is written (README: "more
 * than 10 s apart").
 */
import { assertEquals } from "../../support/assert.ts";
import { RedisClockCheck } from "../../../src/sessions/redis_clock.ts";
import { configureLogging } from "../../../src/log.ts";
import { captureStderr } from "../../support/stderr_capture.ts";

/** The lines one check writes in `format` with Redis's clock `redisBehindMs` behind this host's. */
async function checkLines(format: "text" | "json", redisBehindMs: number): Promise<string[]> {
  const now = 1_800_000_000_000;
  const redisMs = now - redisBehindMs;
  const client = {
    time: () => Promise.resolve([Math.floor(redisMs / 1000), (redisMs % 1000) * 1000]),
  };
  const check = new RedisClockCheck(client as never, () => now, "redis://redis:6379/0");
  configureLogging("info", format, false);
  const capture = captureStderr();
  try {
    await check.check();
    return capture.lines();
  } finally {
    capture.restore();
    configureLogging("warning", "text", false);
  }
}

Deno.test("the Redis clock warning's text line reads 70 s ahead of Redis's, unquoted", async () => {
  const [line] = await checkLines("text", 70_000);
  assertEquals(
    line?.match(/\[WRN\] [^:]+: (This host's clock is .*? Redis's \(.*?\))/)?.[1],
    `This host's clock is 70 s ahead of Redis's ("redis://redis:6379/0")`,
    line,
  );
});

Deno.test("the Redis clock warning's JSON line: the same sentence, and the direction as a field", async () => {
  const [line] = await checkLines("json", -30_000);
  const record = JSON.parse(line!);
  assertEquals(
    record.message.startsWith(`This host's clock is 30 s behind Redis's ("redis://redis:6379/0")`),
    true,
    record.message,
  );
  assertEquals(record.properties.direction, "behind");
  assertEquals(record.properties.seconds, 30);
});

Deno.test("the Redis clock warning comes when the clocks are more than 10 s apart, either way, and not at 10 s", async () => {
  for (const redisBehindMs of [10_000, -10_000, 8_000]) {
    assertEquals(await checkLines("text", redisBehindMs), [], `${redisBehindMs} ms`);
  }
  for (const redisBehindMs of [10_001, -10_001, 12_000]) {
    assertEquals((await checkLines("text", redisBehindMs)).length, 1, `${redisBehindMs} ms`);
  }
});
