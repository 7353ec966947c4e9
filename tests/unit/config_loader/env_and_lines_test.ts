/**
 * Where a problem is reported: a value from an environment variable names the variable and no
 * line of the file (whose line of that key holds another value, or none); variables with our
 * prefix that set no key are refused, not ignored; issues in the n-th [[openvpn.client_config]]
 * block point at that block.
 */
import { assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf as issuesOf,
  HTTP_OIDC_TOML,
  MINIMAL_TOML,
  parseTestConfig as load,
} from "../../support/config_toml.ts";

/** `[http]` with `listen` on line 2, then the rest of a valid config. */
const LISTEN_ON_LINE_2 = `[http]
listen = "127.0.0.1:9000"
${HTTP_OIDC_TOML.replace("[http]\n", "")}
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"
`;

Deno.test("a bad value from the environment names its variable, not the file's line", () => {
  assertEquals(load(LISTEN_ON_LINE_2).config.http.listen.port, 9000);
  const issues = issuesOf(LISTEN_ON_LINE_2, { OPENVPN_AUTH_OIDC_HTTP_LISTEN: "0.0.0.0" });
  assertEquals(issues, [{
    path: "http.listen",
    message:
      'Expected "host:port" (IPv6 as "[::1]:port"), got "0.0.0.0" (from OPENVPN_AUTH_OIDC_HTTP_LISTEN)',
  }]);
  // The same value in the file: its line, no variable.
  assertEquals(issuesOf(LISTEN_ON_LINE_2.replace("127.0.0.1:9000", "0.0.0.0")), [{
    path: "http.listen",
    message: 'Expected "host:port" (IPv6 as "[::1]:port"), got "0.0.0.0"',
    line: 2,
  }]);
});

Deno.test("a wrongly typed value from the environment names its variable, not a line", () => {
  const source = MINIMAL_TOML.replace("[http]\n", "[http]\nconfirm_login = true\n");
  assertEquals(issuesOf(source, { OPENVPN_AUTH_OIDC_HTTP_CONFIRM_LOGIN: "yes" }), [{
    path: "http.confirm_login",
    message:
      'Expected true or false, got a string ("yes") (from OPENVPN_AUTH_OIDC_HTTP_CONFIRM_LOGIN)',
  }]);
});

Deno.test("a problem inside a table or list from the environment names its variable", () => {
  const source = MINIMAL_TOML + '\n[oidc.authorize_params]\nprompt = "login"\n';
  assertEquals(
    issuesOf(source, { OPENVPN_AUTH_OIDC_OIDC_AUTHORIZE_PARAMS: "{ prompt = 1 }" }),
    [{
      path: "oidc.authorize_params.prompt",
      message: "Expected a string (from OPENVPN_AUTH_OIDC_OIDC_AUTHORIZE_PARAMS)",
    }],
  );
});

Deno.test("a secret file named by the environment is reported by its variable", () => {
  const source = MINIMAL_TOML.replace(
    'client_secret = "s3cret"',
    'client_secret_file = "/etc/secret"',
  );
  const files = { "/etc/secret": "s3cret\n" };
  assertEquals(load(source, {}, files).config.oidc.clientSecret?.reveal(), "s3cret");
  assertEquals(
    issuesOf(source, { OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE: "/run/missing" }, files),
    [{
      path: "oidc.client_secret_file",
      message: 'Cannot read /run/missing: ENOENT: no such file "/run/missing" ' +
        "(from OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE)",
    }],
  );
  // Both in the environment: the conflict names the two variables, not the file's line.
  assertEquals(
    issuesOf(source, {
      OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "a",
      OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE: "/etc/secret",
    }, files),
    [{
      path: "oidc.client_secret",
      message: "Conflicting keys: set either OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET or " +
        "OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE, not both",
    }],
  );
});

Deno.test("a misspelt variable is refused with the closest name", () => {
  assertEquals(issuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_HTTP_LISTN: "127.0.0.1:9100" }), [{
    path: "OPENVPN_AUTH_OIDC_HTTP_LISTN",
    message: 'Unknown environment variable (did you mean "OPENVPN_AUTH_OIDC_HTTP_LISTEN"?)',
  }]);
  assertEquals(
    issuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMOUT: "2m" }),
    [{
      path: "OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMOUT",
      message:
        'Unknown environment variable (did you mean "OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMEOUT"?)',
    }],
  );
  assertEquals(issuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_NOTHING_LIKE_A_KEY: "x" }), [{
    path: "OPENVPN_AUTH_OIDC_NOTHING_LIKE_A_KEY",
    message: "Unknown environment variable: it sets no key",
  }]);
});

Deno.test("variables that are not ours, unset ones and OPENVPN_AUTH_OIDC_CONFIG are accepted", () => {
  const { config } = load(MINIMAL_TOML, {
    PATH: "/usr/bin",
    MIMALLOC_PURGE_DELAY: "-1",
    OPENVPN_AUTH_OIDC_CONFIG: "/etc/openvpn-auth-oidc/server.toml",
    OPENVPN_AUTH_OIDC_HTTP_LISTN: undefined,
    openvpn_auth_oidc_http_listn: "x",
  });
  assertEquals(config.http.listen.port, 9000);
});

Deno.test("the variables the tests, the bench and the package set all name keys", () => {
  // bench/jit_cost.ts, tests/binary and tests/package: a start must not be refused.
  const { config } = load(MINIMAL_TOML.replace('secret = "0123456789abcdef0123456789abcdef"', ""), {
    OPENVPN_AUTH_OIDC_HTTP_LISTEN: "127.0.0.1:9100",
    OPENVPN_AUTH_OIDC_SESSIONS_BACKEND: "memory",
    OPENVPN_AUTH_OIDC_CONTROL_SOCKET: "",
    OPENVPN_AUTH_OIDC_HTTP_SECRET_FILE: "/run/http-secret",
    OPENVPN_AUTH_OIDC_CONFIG: "/tmp/server.toml",
  }, { "/run/http-secret": "0123456789abcdef0123456789abcdef" });
  assertEquals([config.http.listen.port, config.sessions.backend], [9100, "memory"]);
});

const TWO_CLIENT_CONFIG_BLOCKS = `${MINIMAL_TOML}
[[openvpn.client_config]]
groups = ["/a"]
lines = ['push "route 10.1.0.0 255.255.0.0"']

[[openvpn.client_config]]
groups = ["/b"]
lines = ["push \\"route 10.2.0.0 255.255.0.0\\"\\nEND"]
`;

function lineOf(source: string, text: string): number {
  return source.split("\n").findIndex((line) => line.includes(text)) + 1;
}

Deno.test("an issue in the second [[openvpn.client_config]] block has that block's line", () => {
  const secondLines = lineOf(TWO_CLIENT_CONFIG_BLOCKS, "\\nEND");
  assertEquals(issuesOf(TWO_CLIENT_CONFIG_BLOCKS), [{
    path: "openvpn.client_config[1].lines[0]",
    message: "Invalid client config line: control characters (CR, LF, NUL, ...) are not allowed",
    line: secondLines,
  }]);
  // A missing key of that block: its header's line.
  const withoutGroups = TWO_CLIENT_CONFIG_BLOCKS.replace('groups = ["/b"]\n', "");
  const secondHeader = withoutGroups.lastIndexOf("[[openvpn.client_config]]");
  assertEquals(
    issuesOf(withoutGroups).filter((issue) => issue.path === "openvpn.client_config[1].groups"),
    [{
      path: "openvpn.client_config[1].groups",
      message: "Missing required key",
      line: withoutGroups.slice(0, secondHeader).split("\n").length,
    }],
  );
});

Deno.test("a key's line is where the key starts a line, not a comment or another key's value", () => {
  // Line 3 names base_url in a comment, line 4 inside a value; the key itself is on line 5.
  const source = `[http]
listen = "127.0.0.1:9000"
# base_url = "https://old.example.com"
templates_dir = "/srv/base_url = x"
base_url = "ftp://vpn.example.com"
${HTTP_OIDC_TOML.replace("[http]\n", "").replace(/^base_url = .*\n/m, "")}
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"
`;
  const issues = issuesOf(source);
  assertEquals(issues.map(({ path, line }) => ({ path, line })), [{
    path: "http.base_url",
    line: 5,
  }]);
});
