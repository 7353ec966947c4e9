import { assertEquals, assertThrows } from "../../support/assert.ts";
import { parseConfig } from "../../../src/config_loader/load.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import { MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";

const MINIMAL = `${MINIMAL_TOML}
[sessions]
backend = "redis"
`;

function load(sessions: string, files: Record<string, string> = {}) {
  return parseConfig(MINIMAL + sessions, "test.toml", {
    env: {},
    readTextFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file "${path}"`);
      return text;
    },
  });
}

function issuesOf(sessions: string) {
  const error = assertThrows(() => load(sessions), ConfigError);
  return error.issues.map(({ path, message }) => ({ path, message }));
}

Deno.test("parseConfig() reads the Redis settings with their defaults", () => {
  const { config } = load('url = "rediss://vpn-bridge@redis.example.com:6380/2"\n');
  assertEquals(config.sessions.backend, "redis");
  assertEquals(config.sessions.redis, {
    url: "rediss://vpn-bridge@redis.example.com:6380/2",
    username: undefined,
    password: undefined,
    keyPrefix: "openvpn-auth-oidc:",
    tlsCaFile: undefined,
    storeTimeoutMs: 2_000,
  });
  assertEquals(config.sessions.storeUnreachable, "deny");
});

Deno.test("parseConfig() reads a Redis password from a file and keeps it secret", () => {
  const { config } = load(
    [
      'url = "redis://10.0.0.5:6379/0"',
      'username = "bridge"',
      'password_file = "/etc/pw"',
      'key_prefix = "vpn1:"',
      'store_timeout = "500ms"',
      'store_unreachable = "allow"',
      "",
    ].join("\n"),
    { "/etc/pw": "hunter2\n" },
  );
  assertEquals(config.sessions.redis?.password?.reveal(), "hunter2");
  assertEquals(String(config.sessions.redis?.password), "***");
  assertEquals(config.sessions.redis?.username, "bridge");
  assertEquals(config.sessions.redis?.keyPrefix, "vpn1:");
  assertEquals(config.sessions.redis?.storeTimeoutMs, 500);
  assertEquals(config.sessions.storeUnreachable, "allow");
});

const CASES: Array<[string, string, { path: string; message: string }]> = [
  ["no url", "", {
    path: "sessions.url",
    message: 'Required when sessions.backend = "redis"',
  }],
  ["another scheme", 'url = "http://redis:6379"\n', {
    path: "sessions.url",
    message: "Expected the scheme redis: or rediss:, got http:",
  }],
  ["a path that is no database number", 'url = "redis://redis:6379/sessions"\n', {
    path: "sessions.url",
    message: "Expected a database number as the path, got /sessions",
  }],
  ["a password in the URL", 'url = "redis://bridge:pw@redis"\n', {
    path: "sessions.url",
    message: "Put the password in sessions.password or sessions.password_file, not in the URL",
  }],
  ["a user twice", 'url = "redis://bridge@redis"\nusername = "other"\n', {
    path: "sessions.url",
    message: "Give the user in the URL or in sessions.username, not both",
  }],
  ["a CA file without TLS", 'url = "redis://redis"\ntls_ca_file = "/etc/ca.pem"\n', {
    path: "sessions.tls_ca_file",
    message: "Only used with a rediss:// URL",
  }],
  ["a key prefix with spaces", 'url = "redis://redis"\nkey_prefix = "my prefix"\n', {
    path: "sessions.key_prefix",
    message: "Expected 1 to 64 characters from A-Z a-z 0-9 : _ . { } -",
  }],
  ["a store timeout too long", 'url = "redis://redis"\nstore_timeout = "1m"\n', {
    path: "sessions.store_timeout",
    message: 'Expected a duration from 10ms to 30s, got "1m"',
  }],
  // Expired sessions' keys would run out before a sweep removed their index entries with them.
  ["a sweep interval too long for the grace", 'url = "redis://redis"\nsweep_interval = "31m"\n', {
    path: "sessions.sweep_interval",
    message: "Expected at most 30m with the redis backend: an expired session's key is kept " +
      "60m for a sweep to remove its index entries",
  }],
];

for (const [name, sessions, expected] of CASES) {
  Deno.test(`parseConfig() reports a Redis setting with ${name}`, () => {
    assertEquals(issuesOf(sessions), [expected]);
  });
}

Deno.test("parseConfig() takes a sweep interval of half the Redis grace, and any with another backend", () => {
  const { config } = load('url = "redis://redis"\nsweep_interval = "30m"\n');
  assertEquals(config.sessions.sweepIntervalMs, 30 * 60_000);
  const file = parseConfig(`${MINIMAL_TOML}\n[sessions]\nsweep_interval = "2h"\n`, "test.toml", {
    env: {},
    readTextFile: () => "",
  });
  assertEquals(file.config.sessions.sweepIntervalMs, 2 * 60 * 60_000);
});

Deno.test("parseConfig() never repeats a Redis password from the URL in its messages", () => {
  const issues = issuesOf('url = "redis://:topsecret@redis/x"\n');
  assertEquals(issues.some((issue) => issue.message.includes("topsecret")), false);
});

// check-config prints sessions.url whatever the backend: a password in it is refused even when
// the backend does not use the URL.
for (const backend of ["file", "memory"]) {
  Deno.test(`parseConfig() refuses a password in sessions.url with backend = "${backend}"`, () => {
    const error = assertThrows(
      () =>
        parseConfig(
          `${MINIMAL_TOML}\n[sessions]\nbackend = "${backend}"\n` +
            'url = "redis://:hunter2@redis:6379/0"\n',
          "test.toml",
          { env: {}, readTextFile: () => "" },
        ),
      ConfigError,
    );
    assertEquals(error.issues.map(({ path, message }) => ({ path, message })), [{
      path: "sessions.url",
      message: "Put the password in sessions.password or sessions.password_file, not in the URL",
    }]);
    assertEquals(error.message.includes("hunter2"), false);
  });
}

Deno.test("parseConfig() refuses a password in an unused sessions.url that is no valid URL", () => {
  // A port out of range: new URL() throws, and the text would be printed as it is.
  const error = assertThrows(
    () =>
      parseConfig(
        `${MINIMAL_TOML}\n[sessions]\nurl = "redis://:hunter2@redis:99999/0"\n`,
        "test.toml",
        { env: {}, readTextFile: () => "" },
      ),
    ConfigError,
  );
  assertEquals(error.issues.map((issue) => issue.path), ["sessions.url"]);
  assertEquals(error.message.includes("hunter2"), false);
});

// Base64 passwords hold "/": the URL then does not parse, or parses with the rest of the password
// as its path; either way a password is there, and no message may quote it.
Deno.test("parseConfig() refuses a password holding a slash in sessions.url, without quoting it", () => {
  for (
    const [backend, url] of [
      ["file", "redis://:Zm9v/YmFyS3CR3T+x@redis.internal:6379/0"],
      ["file", "redis://bridge:7/YmFyS3CR3T@redis.internal:6379/0"],
      ["redis", "redis://bridge:7/YmFyS3CR3T@redis.internal:6379/0"],
      ["redis", "redis://:Zm9v/YmFyS3CR3T+x@redis.internal:6379/0"],
    ]
  ) {
    const error = assertThrows(
      () =>
        parseConfig(
          `${MINIMAL_TOML}\n[sessions]\nbackend = "${backend}"\nurl = "${url}"\n`,
          "test.toml",
          { env: {}, readTextFile: () => "" },
        ),
      ConfigError,
    );
    assertEquals(
      error.issues.some(({ path, message }) =>
        path === "sessions.url" && message.startsWith("Put the password in sessions.password")
      ),
      true,
      error.message,
    );
    assertEquals(error.message.includes("S3CR3T"), false, error.message);
  }
});

/**
 * A password where no URL parser finds one, but the person who wrote it, a Redis client or
 * another reader of check-config's output does: no "//" after the scheme, no scheme at all, "@"
 * in the user and "/" in the password, the query.
 */
const PASSWORD_SHAPES = [
  "redis:bridge:S3CR3T@redis.internal:6379/0",
  "rediss:/bridge:S3CR3T@redis.internal:6380/1",
  "redis:///bridge:S3CR3T@redis.internal",
  "REDIS:bridge:S3CR3T@redis.internal",
  "redis:\\\\bridge:S3CR3T@redis.internal",
  "bridge:S3CR3T@redis.internal:6379",
  "redis://ops@bridge:S3/CR3T@redis.internal",
  "redis://redis.internal:6379/0?password=S3CR3T",
  "redis://redis.internal:6379/0?db=0&PASSWORD=S3CR3T",
];

/** `url` in [sessions] with `backend`, as check-config loads it. */
function withUrl(backend: string, url: string): string {
  return `${MINIMAL_TOML}\n[sessions]\nbackend = "${backend}"\nurl = ${JSON.stringify(url)}\n`;
}

Deno.test("parseConfig() refuses a password in any shape of sessions.url, whatever the backend, without quoting it", () => {
  for (const backend of ["file", "memory", "redis"]) {
    for (const url of PASSWORD_SHAPES) {
      let refusal: ConfigError | undefined;
      try {
        parseTestConfig(withUrl(backend, url));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        refusal = error;
      }
      assertEquals(
        refusal?.issues.some(({ path, message }) =>
          path === "sessions.url" && message.startsWith("Put the password in sessions.password")
        ),
        true,
        `${backend} ${url}: ${refusal?.message ?? "loaded"}`,
      );
      assertEquals(refusal?.message.includes("S3"), false, refusal?.message);
    }
  }
});

Deno.test("parseConfig() takes an unused sessions.url with a user and no password", () => {
  for (
    const url of [
      "redis://bridge@redis.internal:6379/0",
      "rediss://bridge@[::1]:6380/2",
      "redis:bridge@redis.internal:6379",
      "http://bridge@redis.internal",
      "redis://redis.internal:6379/0?db=0",
    ]
  ) {
    const { printable } = parseTestConfig(withUrl("file", url));
    assertEquals((printable["sessions"] as Record<string, unknown>)["url"], url);
  }
});

// decodeURIComponent throws URIError on a "%" not followed by two hex digits.
Deno.test("parseConfig() reports malformed percent-encoding in the URL's user name", () => {
  for (const url of ["redis://ops%team@localhost:6379/0", "redis://ops%E9@localhost:6379/0"]) {
    assertEquals(issuesOf(`url = "${url}"\n`), [{
      path: "sessions.url",
      message: "Malformed percent-encoding in the URL's user name",
    }], url);
  }
});

Deno.test("parseConfig() refuses a password with a stray % in the URL, without quoting it", () => {
  const issues = issuesOf('url = "redis://ops%team:100%@localhost:6379/0"\n');
  assertEquals(issues.map((issue) => issue.path), ["sessions.url", "sessions.url"]);
  assertEquals(
    issues[0]!.message,
    "Put the password in sessions.password or sessions.password_file, not in the URL",
  );
  assertEquals(issues.some((issue) => /100%|ops%team/.test(issue.message)), false);
  assertEquals(issuesOf('url = "redis://:100%@localhost:6379/0"\n'), [{
    path: "sessions.url",
    message: "Put the password in sessions.password or sessions.password_file, not in the URL",
  }]);
});

Deno.test("parseConfig() refuses a Redis URL ending in a bare ? or #", () => {
  for (const tail of ["?", "#"]) {
    assertEquals(issuesOf(`url = "redis://redis:6379/0${tail}"\n`), [{
      path: "sessions.url",
      message: "Query and fragment are not supported",
    }], tail);
  }
});
