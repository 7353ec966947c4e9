/**
 * Secrets other local users can read, in `*_file` files or inline in a config file they can
 * read, and files they can change (the config, secrets, the TLS files, the Redis CA) are
 * warnings (the service still starts), each naming the key, the file, its mode and the fix,
 * never the secret.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { parseConfig } from "../../../src/config_loader/load.ts";
import { createCa } from "../../support/certificates.ts";
import { MINIMAL_TOML } from "../../support/config_toml.ts";

const HTTP_SECRET = "http-secret-0123456789abcdef0123456789";
const CLIENT_SECRET = "client-secret-never-shown";
const FILES: Record<string, string> = {
  "/etc/oa/http-secret": `${HTTP_SECRET}\n`,
  "/etc/oa/client-secret": CLIENT_SECRET,
};

/** MINIMAL_TOML with the secrets above inline. */
const INLINE_SECRETS = MINIMAL_TOML
  .replace(/^secret = .*$/m, `secret = "${HTTP_SECRET}"`)
  .replace(/^client_secret = .*$/m, `client_secret = "${CLIENT_SECRET}"`);

/** MINIMAL_TOML with both of its inline secrets moved to `*_file` keys. */
const NO_INLINE_SECRETS = MINIMAL_TOML
  .replace(/^secret = .*$/m, 'secret_file = "/etc/oa/http-secret"')
  .replace(/^client_secret = .*$/m, 'client_secret_file = "/etc/oa/client-secret"');

/**
 * Loads `source` as /etc/oa/server.toml, each file having the mode in `modes` (a stat mode);
 * `files` besides FILES.
 */
function warningsOf(
  source: string,
  modes: Record<string, number>,
  files: Record<string, string> = {},
) {
  return parseConfig(source, "/etc/oa/server.toml", {
    env: {},
    readTextFile: (path) => {
      const text = files[path] ?? FILES[path];
      if (text === undefined) throw new Error(`ENOENT: no such file "${path}"`);
      return text;
    },
    fileMode: (path) => {
      const mode = modes[path];
      if (mode === undefined) throw new Error(`ENOENT: no such file "${path}"`);
      return mode;
    },
  }).warnings;
}

function assertNoSecretIn(text: string): void {
  assert(!text.includes(HTTP_SECRET) && !text.includes(CLIENT_SECRET), text);
}

Deno.test("parseConfig() warns at http.secret_file when other users can read the file", () => {
  const warnings = warningsOf(NO_INLINE_SECRETS, {
    "/etc/oa/server.toml": 0o100644,
    "/etc/oa/http-secret": 0o100644,
    "/etc/oa/client-secret": 0o100600,
  });
  assertEquals(warnings.length, 1, JSON.stringify(warnings));
  const [warning] = warnings;
  assertEquals(warning!.path, "http.secret_file");
  assertEquals(typeof warning!.line, "number");
  assertStringIncludes(warning!.message, "/etc/oa/http-secret");
  assertStringIncludes(warning!.message, "(mode 0644)");
  assertStringIncludes(warning!.message, "chmod o-r /etc/oa/http-secret");
  assertNoSecretIn(warning!.message);
});

Deno.test("parseConfig() does not warn about secret files at 0640 or 0600", () => {
  for (const mode of [0o100640, 0o100600]) {
    const warnings = warningsOf(NO_INLINE_SECRETS, {
      "/etc/oa/server.toml": 0o100640,
      "/etc/oa/http-secret": mode,
      "/etc/oa/client-secret": mode,
    });
    assertEquals(warnings, [], mode.toString(8));
  }
});

Deno.test("parseConfig() warns at the file when other users can read inline secrets", () => {
  const warnings = warningsOf(INLINE_SECRETS, { "/etc/oa/server.toml": 0o100644 });
  assertEquals(warnings.length, 1, JSON.stringify(warnings));
  const [warning] = warnings;
  assertEquals(warning!.path, "(file)");
  for (
    const part of [
      "http.secret, oidc.client_secret",
      "(mode 0644)",
      "chmod o-r /etc/oa/server.toml",
      "http.secret_file, oidc.client_secret_file",
    ]
  ) {
    assertStringIncludes(warning!.message, part);
  }
  assertNoSecretIn(warning!.message);
});

Deno.test("parseConfig() warns at the file when other users can read a single inline secret", () => {
  // Only http.secret inline: one secret in a readable config leaks as surely as two.
  const oneInline = MINIMAL_TOML
    .replace(/^secret = .*$/m, `secret = "${HTTP_SECRET}"`)
    .replace(/^client_secret = .*$/m, 'client_secret_file = "/etc/oa/client-secret"');
  const warnings = warningsOf(oneInline, {
    "/etc/oa/server.toml": 0o100644,
    "/etc/oa/client-secret": 0o100600,
  });
  assertEquals(warnings.length, 1, JSON.stringify(warnings));
  assertEquals(warnings[0]!.path, "(file)");
  assertStringIncludes(warnings[0]!.message, "Holds http.secret and can be read by other users");
  assertStringIncludes(warnings[0]!.message, "move it to http.secret_file");
  assertNoSecretIn(warnings[0]!.message);
});

Deno.test("parseConfig() does not warn about inline secrets in a config file at 0640", () => {
  assertEquals(warningsOf(INLINE_SECRETS, { "/etc/oa/server.toml": 0o100640 }), []);
});

Deno.test("parseConfig() does not warn about a config file at 0644 without inline secrets", () => {
  const warnings = warningsOf(NO_INLINE_SECRETS, {
    "/etc/oa/server.toml": 0o100644,
    "/etc/oa/http-secret": 0o100600,
    "/etc/oa/client-secret": 0o100640,
  });
  assertEquals(warnings, []);
});

Deno.test("parseConfig() checks no permissions without a way to read modes", () => {
  const { warnings } = parseConfig(MINIMAL_TOML, "test.toml", {
    env: {},
    readTextFile: () => {
      throw new Error("no files");
    },
  });
  assertEquals(warnings, []);
});

Deno.test("parseConfig() warns at http.tls_key_file when other users can read the TLS private key", () => {
  const withTls = NO_INLINE_SECRETS.replace(
    "[http]",
    '[http]\ntls_cert_file = "/etc/oa/cert.pem"\ntls_key_file = "/etc/oa/key.pem"',
  );
  const modes = {
    "/etc/oa/server.toml": 0o100644,
    "/etc/oa/http-secret": 0o100640,
    "/etc/oa/client-secret": 0o100600,
    // A certificate is public; its key is not.
    "/etc/oa/cert.pem": 0o100644,
    "/etc/oa/key.pem": 0o100644,
  };
  assertEquals(warningsOf(withTls, modes).map(({ path, message }) => ({ path, message })), [{
    path: "http.tls_key_file",
    message: "File /etc/oa/key.pem can be read by other users (mode 0644): run chmod o-r " +
      "/etc/oa/key.pem",
  }]);
  assertEquals(warningsOf(withTls, { ...modes, "/etc/oa/key.pem": 0o100640 }), []);
});

/** NO_INLINE_SECRETS with built-in TLS, its certificate and key in /etc/oa. */
const WITH_TLS = NO_INLINE_SECRETS.replace(
  "[http]",
  '[http]\ntls_cert_file = "/etc/oa/cert.pem"\ntls_key_file = "/etc/oa/key.pem"',
);

/** The modes the package gives (postinst: root, group openvpn-auth-oidc, 0640), TLS 0644/0640. */
const PACKAGE_MODES: Record<string, number> = {
  "/etc/oa/server.toml": 0o100640,
  "/etc/oa/http-secret": 0o100640,
  "/etc/oa/client-secret": 0o100640,
  "/etc/oa/cert.pem": 0o100644,
  "/etc/oa/key.pem": 0o100640,
};

Deno.test("parseConfig() warns about every file other users can change, naming the fix", () => {
  for (
    const [file, mode, path, message] of <Array<[string, number, string, string]>> [
      [
        "/etc/oa/server.toml",
        0o100666,
        "(file)",
        "Can be changed by other users (mode 0666), who could rewrite the access rules: run " +
        "chmod o-w /etc/oa/server.toml",
      ],
      [
        "/etc/oa/http-secret",
        0o100622,
        "http.secret_file",
        "File /etc/oa/http-secret can be changed by other users (mode 0622): run chmod o-w " +
        "/etc/oa/http-secret",
      ],
      [
        "/etc/oa/client-secret",
        0o100662,
        "oidc.client_secret_file",
        "File /etc/oa/client-secret can be changed by other users (mode 0662): run chmod o-w " +
        "/etc/oa/client-secret",
      ],
      [
        "/etc/oa/client-secret",
        0o100666,
        "oidc.client_secret_file",
        "File /etc/oa/client-secret can be read and changed by other users (mode 0666): run " +
        "chmod o-rw /etc/oa/client-secret",
      ],
      [
        "/etc/oa/key.pem",
        0o100602,
        "http.tls_key_file",
        "File /etc/oa/key.pem can be changed by other users (mode 0602): run chmod o-w " +
        "/etc/oa/key.pem",
      ],
      [
        "/etc/oa/cert.pem",
        0o100666,
        "http.tls_cert_file",
        "File /etc/oa/cert.pem can be changed by other users (mode 0666): run chmod o-w " +
        "/etc/oa/cert.pem",
      ],
    ]
  ) {
    const warnings = warningsOf(WITH_TLS, { ...PACKAGE_MODES, [file]: mode });
    assertEquals(
      warnings.map(({ path, message }) => ({ path, message })),
      [{ path, message }],
      `${file} at ${mode.toString(8)}`,
    );
  }
});

Deno.test("parseConfig() warns about a config file others can change and read, holding secrets", () => {
  const warnings = warningsOf(INLINE_SECRETS, { "/etc/oa/server.toml": 0o100666 });
  assertEquals(warnings.map(({ path }) => path), ["(file)", "(file)"]);
  assertStringIncludes(warnings[0]!.message, "chmod o-r /etc/oa/server.toml");
  assertStringIncludes(warnings[1]!.message, "chmod o-w /etc/oa/server.toml");
  for (const warning of warnings) assertNoSecretIn(warning.message);
});

Deno.test("parseConfig() warns when other users can change the Redis CA file", () => {
  const redis = NO_INLINE_SECRETS.replace(
    /\n\[oidc\]/,
    '\n[sessions]\nbackend = "redis"\nurl = "rediss://redis.example.com:6380/0"\n' +
      'tls_ca_file = "/etc/oa/redis-ca.pem"\n\n[oidc]',
  );
  const modes = { ...PACKAGE_MODES, "/etc/oa/redis-ca.pem": 0o100644 };
  assertEquals(warningsOf(redis, modes), []);
  assertEquals(
    warningsOf(redis, { ...modes, "/etc/oa/redis-ca.pem": 0o100646 }).map(({ path }) => path),
    ["sessions.tls_ca_file"],
  );
});

Deno.test("parseConfig() warns when other users can change the IdP CA file", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const ca = "/etc/oa/idp-ca.pem";
    const files = { [ca]: Deno.readTextFileSync((await createCa(dir, "idp", "corp CA")).cert) };
    const idp = NO_INLINE_SECRETS.replace(/\n\[oidc\]\n/, `\n[oidc]\ntls_ca_file = "${ca}"\n`);
    const modes = { ...PACKAGE_MODES, [ca]: 0o100644 };
    assertEquals(warningsOf(idp, modes, files), []);
    const warnings = warningsOf(idp, { ...modes, [ca]: 0o100666 }, files);
    assertEquals(warnings.map(({ path, message }) => ({ path, message })), [{
      path: "oidc.tls_ca_file",
      message: `File ${ca} can be changed by other users (mode 0666): run chmod o-w ${ca}`,
    }]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseConfig() does not warn about the package's modes, nor a group that can write", () => {
  assertEquals(warningsOf(WITH_TLS, PACKAGE_MODES), []);
  const groupWritable = Object.fromEntries(
    Object.entries(PACKAGE_MODES).map(([file, mode]) => [file, mode | 0o020]),
  );
  assertEquals(warningsOf(WITH_TLS, groupWritable), []);
});
