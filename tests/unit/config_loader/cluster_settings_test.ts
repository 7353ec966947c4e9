import { assert, assertEquals, assertMatch, assertThrows } from "../../support/assert.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import { HTTP_OIDC_TOML, parseInlineToml } from "../../support/config_toml.ts";
import { mergeReload } from "../../../src/config/live.ts";

const SERVER = `
[openvpn]
management = "tcp://10.0.0.5:7505"
password = "management-password"
`;
const REDIS = `
[sessions]
backend = "redis"
url = "redis://redis.internal:6379/0"
`;

function load(toml: string) {
  return parseInlineToml(SERVER + HTTP_OIDC_TOML + toml, "test.toml");
}

function issuesOf(toml: string) {
  const error = assertThrows(() => load(toml), ConfigError);
  return error.issues.map(({ path, message }) => ({ path, message }));
}

Deno.test("without [cluster] (or disabled) there is no cluster: links stay local", () => {
  assertEquals(load(REDIS).config.cluster, undefined);
  assertEquals(load(REDIS + "[cluster]\nenabled = false\n").config.cluster, undefined);
});

Deno.test("[cluster] defaults: a 10 s lease, the host name and pid as instance id", () => {
  const { cluster } = load(REDIS + "[cluster]\nenabled = true\n").config;
  assert(cluster);
  assertEquals(cluster.leaseMs, 10_000);
  assertMatch(cluster.instanceId, new RegExp(`^[A-Za-z0-9._-]+-${Deno.pid}$`));
  assertEquals(
    load(REDIS + '[cluster]\nenabled = true\nlease = "30s"\ninstance_id = "bridge-2"\n').config
      .cluster,
    { instanceId: "bridge-2", leaseMs: 30_000 },
  );
});

Deno.test("[cluster] needs the Redis store, a lease from 3 s to 2 min and a plain instance id", () => {
  assertEquals(issuesOf("[cluster]\nenabled = true\n"), [
    {
      path: "cluster.enabled",
      message: 'Needs sessions.backend = "redis": the instances share it',
    },
  ]);
  assertEquals(issuesOf(REDIS + '[cluster]\nenabled = true\ninstance_id = "a#1"\n'), [
    { path: "cluster.instance_id", message: 'Expected 1 to 64 letters, digits, ".", "_" or "-"' },
  ]);
  assertEquals(issuesOf(REDIS + '[cluster]\nenabled = true\nlease = "2s"\n'), [
    { path: "cluster.lease", message: 'Expected a duration from 3s to 2m, got "2s"' },
  ]);
  assertEquals(issuesOf(REDIS + '[cluster]\nenabled = true\nlease = "3m"\n'), [
    { path: "cluster.lease", message: 'Expected a duration from 3s to 2m, got "3m"' },
  ]);
  assertEquals(
    load(REDIS + '[cluster]\nenabled = true\nlease = "3s"\n').config.cluster?.leaseMs,
    3_000,
  );
  assertEquals(
    load(REDIS + '[cluster]\nenabled = true\nlease = "2m"\n').config.cluster?.leaseMs,
    120_000,
  );
});

Deno.test("[cluster] a lease out of bounds is refused even while the cluster is off", () => {
  assertEquals(issuesOf(REDIS + '[cluster]\nenabled = false\nlease = "1s"\n'), [
    { path: "cluster.lease", message: 'Expected a duration from 3s to 2m, got "1s"' },
  ]);
});

Deno.test("a reload cannot turn [cluster] on or off or change it: the keys are named and kept", () => {
  const off = load(REDIS).config;
  const on = load(REDIS + '[cluster]\nenabled = true\ninstance_id = "b1"\n').config;
  const named = ["cluster.enabled", "cluster.instance_id", "cluster.lease"];
  assertEquals(mergeReload(off, on).kept, named);
  assertEquals(mergeReload(off, on).config.cluster, undefined);
  assertEquals(mergeReload(on, off).kept, named);
  const longer = load(REDIS + '[cluster]\nenabled = true\ninstance_id = "b1"\nlease = "20s"\n');
  assertEquals(mergeReload(on, longer.config).kept, ["cluster.lease"]);
  assertEquals(mergeReload(on, longer.config).config.cluster?.leaseMs, 10_000);
});

Deno.test("[cluster] instance_id: 64 characters are taken, 65 refused (the message's bound)", () => {
  const withId = (id: string) => REDIS + `[cluster]\nenabled = true\ninstance_id = "${id}"\n`;
  assertEquals(load(withId("a".repeat(64))).config.cluster?.instanceId, "a".repeat(64));
  assertEquals(issuesOf(withId("a".repeat(65))), [
    { path: "cluster.instance_id", message: 'Expected 1 to 64 letters, digits, ".", "_" or "-"' },
  ]);
});
