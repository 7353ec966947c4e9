import { Hono } from "hono";
import { assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import { securityHeaders } from "../../../src/http/security_headers.ts";
import { PAGE_STYLE_SOURCE } from "../../../src/http/pages/style.ts";
import { confirmPage } from "../../../src/http/pages/builtin.ts";

function app(options: Parameters<typeof securityHeaders>[0]): Hono {
  const hono = new Hono();
  hono.use(securityHeaders(options));
  hono.onError((_error, c) => c.text("Internal error", 500));
  hono.get("/page", (c) =>
    c.html(confirmPage({
      commonName: "cn",
      clientIp: "192.0.2.1",
      expiresInMinutes: 5,
      actionUrl: "/login",
    })));
  hono.post("/login", (c) => c.redirect("https://sso.example.com/realms/vpn/auth", 303));
  hono.get("/static-redirect", () => Response.redirect("https://example.com/", 302));
  hono.get("/boom", () => {
    throw new Error("internal detail");
  });
  return hono;
}

const OPTIONS = {
  https: true,
  formActionOrigins: ["https://sso.example.com/realms/vpn/protocol/openid-connect/auth"],
};

Deno.test("securityHeaders() sets the full header set on a page", async () => {
  const response = await app(OPTIONS).request("/page");
  assertEquals(response.status, 200);
  await response.text();
  const expected: Record<string, string> = {
    "content-security-policy":
      `default-src 'none'; style-src ${PAGE_STYLE_SOURCE}; img-src data:; form-action 'self' https://sso.example.com; frame-ancestors 'none'; base-uri 'none'`,
    "cache-control": "no-store",
    "pragma": "no-cache",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "strict-transport-security": "max-age=31536000",
  };
  for (const [name, value] of Object.entries(expected)) {
    assertEquals(response.headers.get(name), value, name);
  }
});

Deno.test("securityHeaders() omits HSTS over plain http", async () => {
  const response = await app({ ...OPTIONS, https: false }).request("/page");
  await response.text();
  assertEquals(response.headers.get("strict-transport-security"), null);
  assertEquals(response.headers.get("x-frame-options"), "DENY");
});

Deno.test("securityHeaders() covers redirects, immutable responses and errors", async () => {
  const hono = app(OPTIONS);
  for (
    const [method, path, status] of [
      ["POST", "/login", 303],
      ["GET", "/static-redirect", 302],
      ["GET", "/boom", 500],
      ["GET", "/missing", 404],
    ] as const
  ) {
    const response = await hono.request(path, { method });
    await response.text();
    assertEquals(response.status, status, path);
    assertEquals(response.headers.get("cache-control"), "no-store", path);
    assertStringIncludes(response.headers.get("content-security-policy") ?? "", "frame-ancestors");
  }
});

Deno.test("securityHeaders() lists given style sources and de-duplicates origins", async () => {
  const extra = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";
  const response = await app({
    https: false,
    formActionOrigins: ["https://a.example", "https://a.example/x", "http://localhost:8080/"],
    styleSources: [PAGE_STYLE_SOURCE, extra],
  }).request("/page");
  await response.text();
  const csp = response.headers.get("content-security-policy") ?? "";
  assertStringIncludes(csp, `style-src ${PAGE_STYLE_SOURCE} ${extra};`);
  assertStringIncludes(csp, "form-action 'self' https://a.example http://localhost:8080;");
});

Deno.test("securityHeaders() refuses origins and style sources that could bend the policy", () => {
  for (const origin of ["not a url", "javascript:alert(1)", "data:text/html,x"]) {
    assertThrows(() => securityHeaders({ https: true, formActionOrigins: [origin] }), TypeError);
  }
  assertThrows(
    () =>
      securityHeaders({
        https: true,
        formActionOrigins: [],
        styleSources: ["'unsafe-inline'; script-src *"],
      }),
    TypeError,
    "Invalid CSP style source",
  );
  // A real hash with more after it (or before it) would add sources of its own.
  for (
    const source of [
      `${PAGE_STYLE_SOURCE} 'unsafe-inline'`,
      `* ${PAGE_STYLE_SOURCE}`,
      `${PAGE_STYLE_SOURCE}; script-src *`,
    ]
  ) {
    assertThrows(
      () => securityHeaders({ https: true, formActionOrigins: [], styleSources: [source] }),
      TypeError,
      "Invalid CSP style source",
    );
  }
});

Deno.test("securityHeaders() asks a form-action function at each response (origins known after discovery)", async () => {
  let origins: readonly string[] = ["https://issuer.example"];
  const hono = app({ https: true, formActionOrigins: () => origins });
  const csp = async () => {
    const response = await hono.request("/page");
    await response.text();
    return response.headers.get("content-security-policy") ?? "";
  };
  assertStringIncludes(await csp(), "form-action 'self' https://issuer.example;");
  origins = ["https://issuer.example", "https://login.example:8443/auth"];
  assertStringIncludes(
    await csp(),
    "form-action 'self' https://issuer.example https://login.example:8443;",
  );
});
