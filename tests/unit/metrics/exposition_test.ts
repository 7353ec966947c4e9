import { assert, assertEquals, assertThrows } from "../../support/assert.ts";
import {
  CounterFamily,
  escapeLabelValue,
  GaugeFamily,
  HistogramFamily,
  Registry,
} from "../../../src/metrics/exposition.ts";

Deno.test("escapeLabelValue() escapes backslash, double quote and line feed only", () => {
  assertEquals(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
});

Deno.test("Registry renders HELP and TYPE lines, labels and values", async () => {
  const registry = new Registry();
  const counter = registry.register(
    new CounterFamily("x_total", "Things.\nWith a \\ line", ["kind"]),
  );
  counter.labels('a"b').inc();
  counter.labels('a"b').inc(2);
  counter.labels("c").inc(-5);
  registry.register(new GaugeFamily("up", "Up.")).labels().set(1);
  assertEquals(
    await registry.render(),
    [
      "# HELP x_total Things.\\nWith a \\\\ line",
      "# TYPE x_total counter",
      'x_total{kind="a\\"b"} 3',
      'x_total{kind="c"} 0',
      "# HELP up Up.",
      "# TYPE up gauge",
      "up 1",
      "",
    ].join("\n"),
  );
});

Deno.test("HistogramFamily renders cumulative buckets, +Inf, _sum and _count", async () => {
  const registry = new Registry();
  const histogram = registry.register(
    new HistogramFamily("d_seconds", "Durations.", ["op"], [0.1, 1]),
  );
  const child = histogram.labels("get");
  child.observe(0.05);
  child.observe(0.1);
  child.observe(0.5);
  child.observe(7);
  registry.register(new HistogramFamily("n", "No labels.", [], [1])).labels().observe(2);
  assertEquals(
    await registry.render(),
    [
      "# HELP d_seconds Durations.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{op="get",le="0.1"} 2',
      'd_seconds_bucket{op="get",le="1"} 3',
      'd_seconds_bucket{op="get",le="+Inf"} 4',
      'd_seconds_sum{op="get"} 7.65',
      'd_seconds_count{op="get"} 4',
      "# HELP n No labels.",
      "# TYPE n histogram",
      'n_bucket{le="1"} 0',
      'n_bucket{le="+Inf"} 1',
      "n_sum 2",
      "n_count 1",
      "",
    ].join("\n"),
  );
});

Deno.test("Registry runs collectors before rendering", async () => {
  const registry = new Registry();
  const gauge = registry.register(new GaugeFamily("g", "G.")).labels();
  let calls = 0;
  registry.onCollect("g", () => {
    calls++;
    gauge.set(calls * 10);
  });
  assertEquals((await registry.render()).split("\n")[2], "g 10");
  assertEquals((await registry.render()).split("\n")[2], "g 20");
});

Deno.test("Registry leaves out the gauges of a collector that fails and renders the rest", async () => {
  const registry = new Registry();
  const up = registry.register(new GaugeFamily("up", "Up.")).labels();
  const counts = registry.register(new GaugeFamily("count", "Count.", ["kind"]));
  const sessions = counts.labels("sessions");
  const pending = counts.labels("pending");
  const cpu = registry.register(new GaugeFamily("cpu", "CPU.")).labels();
  let storeDown = false;
  registry.onCollect("up", () => up.set(1), [up]);
  registry.onCollect("counts", async () => {
    if (storeDown) throw new Error("Redis down");
    sessions.set(await Promise.resolve(3));
    pending.set(1);
  }, [sessions, pending]);
  registry.onCollect("cpu", () => {
    if (storeDown) throw new TypeError("not a rejection: a synchronous throw");
  }, [cpu]);
  assertEquals(
    await registry.render(),
    [
      "# HELP up Up.",
      "# TYPE up gauge",
      "up 1",
      "# HELP count Count.",
      "# TYPE count gauge",
      'count{kind="sessions"} 3',
      'count{kind="pending"} 1',
      "# HELP cpu CPU.",
      "# TYPE cpu gauge",
      "cpu 0",
      "",
    ].join("\n"),
  );
  storeDown = true;
  assertEquals(
    await registry.render(),
    [
      "# HELP up Up.",
      "# TYPE up gauge",
      "up 1",
      "# HELP count Count.",
      "# TYPE count gauge",
      "# HELP cpu CPU.",
      "# TYPE cpu gauge",
      "",
    ].join("\n"),
  );
  storeDown = false;
  assert((await registry.render()).includes('count{kind="pending"} 1\n'));
});

Deno.test("Registry gives up on a collector that does not settle in time: the scrape answers without its gauges", async () => {
  const failed: string[] = [];
  const registry = new Registry(
    { added: () => {}, worked: () => {}, failed: (name) => failed.push(name) },
    20,
  );
  const up = registry.register(new GaugeFamily("up", "Up.")).labels();
  const stuck = registry.register(new GaugeFamily("stuck", "Stuck.")).labels();
  registry.onCollect("up", () => up.set(1), [up]);
  registry.onCollect("stuck", () => new Promise<void>(() => {}), [stuck]);
  const text = await registry.render();
  assert(text.includes("up 1\n"), text);
  assert(!text.includes("stuck 0"), text);
  assertEquals(failed, ["stuck"]);
});

Deno.test("Registry runs the collectors at once, not one after another", async () => {
  const registry = new Registry();
  const started: string[] = [];
  let startedWhenFirstEnded = 0;
  registry.onCollect("slow", async () => {
    started.push("slow");
    await new Promise((resolve) => setTimeout(resolve, 10));
    startedWhenFirstEnded = started.length;
  });
  registry.onCollect("other", () => {
    started.push("other");
  });
  await registry.render();
  assertEquals(startedWhenFirstEnded, 2);
});

Deno.test("metric families refuse bad names, labels, buckets and duplicates", () => {
  assertThrows(() => new CounterFamily("1x", "h"), TypeError);
  assertThrows(() => new CounterFamily("x", "h", ["le"]), TypeError);
  // Prometheus's own target labels: a scraped one is renamed to exported_<name> on the way in.
  assertThrows(() => new GaugeFamily("x", "h", ["server", "instance"]), TypeError);
  assertThrows(() => new CounterFamily("x", "h", ["job"]), TypeError);
  assertThrows(() => new CounterFamily("x", "h", ["__a"]), TypeError);
  assertThrows(() => new CounterFamily("x", "h", ["a-b"]), TypeError);
  assertThrows(() => new HistogramFamily("h", "h", [], [1, 1]), TypeError);
  assertThrows(() => new HistogramFamily("h", "h", [], []), TypeError);
  assertThrows(() => new CounterFamily("x", "h", ["a"]).labels(), TypeError);
  const registry = new Registry();
  registry.register(new CounterFamily("x", "h"));
  assertThrows(() => registry.register(new GaugeFamily("x", "h")), TypeError);
  registry.onCollect("c", () => {});
  assertThrows(() => registry.onCollect("c", () => {}), TypeError, "Collector added twice: c");
});

Deno.test("labels() keeps label value lists apart that read the same when run together", async () => {
  const registry = new Registry();
  const family = registry.register(new CounterFamily("x_total", "X.", ["server", "event"]));
  family.labels("a", "disconnect").inc();
  family.labels("adis", "connect").inc(2);
  assertEquals(
    (await registry.render()).split("\n").slice(2, 4),
    ['x_total{server="a",event="disconnect"} 1', 'x_total{server="adis",event="connect"} 2'],
  );
});

Deno.test("Registry leaves no collector timer behind once a scrape has answered", async () => {
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const { setTimeout: realSet, clearTimeout: realClear } = globalThis;
  globalThis.setTimeout = ((run: () => void, ms?: number) => {
    const id = realSet(() => {
      pending.delete(id);
      run();
    }, ms);
    pending.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id?: ReturnType<typeof setTimeout>) => {
    if (id !== undefined) pending.delete(id);
    realClear(id);
  }) as typeof clearTimeout;
  try {
    const registry = new Registry(undefined, 60_000);
    registry.onCollect("works", () => {});
    registry.onCollect("fails", () => Promise.reject(new Error("Redis down")));
    await registry.render();
    assertEquals(pending.size, 0, "a collector's timeout outlives its scrape");
  } finally {
    for (const id of pending) realClear(id);
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
});
