import { assertEquals } from "../support/assert.ts";
import process from "node:process";
import { configureLogging, getLogger, maskSensitive } from "../../src/log.ts";
import { Secret } from "../../src/config/secret.ts";

Deno.test("maskSensitive() masks credential-like properties and keeps the rest", () => {
  const properties = {
    username: "alice",
    password: "hunter2",
    client_secret: "s",
    refreshToken: "rt",
    cookie: "c",
    codeVerifier: "v",
    cid: 4,
  };
  assertEquals(maskSensitive(properties), {
    username: "alice",
    password: "***",
    client_secret: "***",
    refreshToken: "***",
    cookie: "***",
    codeVerifier: "***",
    cid: 4,
  });
  assertEquals(properties.password, "hunter2");
});

Deno.test("maskSensitive() returns the same object when nothing is sensitive", () => {
  const properties = { cid: 1, commonName: "alice" };
  assertEquals(maskSensitive(properties) === properties, true);
});

Deno.test("a Secret prints as *** through every conversion", () => {
  const secret = new Secret("hunter2");
  assertEquals(String(secret), "***");
  assertEquals(JSON.stringify({ secret }), '{"secret":"***"}');
  assertEquals(Deno.inspect(secret), "***");
  assertEquals(`${secret}`, "***");
  assertEquals(secret.reveal(), "hunter2");
});

function captureStderr(body: () => void): string {
  const original = process.stderr.write;
  let out = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    body();
  } finally {
    process.stderr.write = original;
    configureLogging("warning", "text");
  }
  return out;
}

for (const format of ["text", "json"] as const) {
  Deno.test(`a sensitive value in the message template is masked in the ${format} output`, () => {
    const out = captureStderr(() => {
      configureLogging("info", format);
      getLogger("test").info("Refresh with {refreshToken} for {user}, form {form}", {
        refreshToken: "rt-marker-123",
        user: "alice",
        form: { password: "pw-marker-456", kept: "yes" },
      });
    });
    assertEquals(out.includes("rt-marker-123"), false, out);
    assertEquals(out.includes("pw-marker-456"), false, out);
    assertEquals(out.includes("alice"), true, out);
    assertEquals(out.includes("yes"), true, out);
  });
}

Deno.test("a value with line breaks stays on one line in text format", () => {
  const out = captureStderr(() => {
    configureLogging("info", "text");
    getLogger("test").info("Login of {user}: {detail}", {
      user: "alice\n2026-01-01 00:00:00.000 +00:00 [INF] forged: Login of admin accepted",
      detail: {
        a: "x".repeat(60),
        b: "y".repeat(60),
        c: "line\r\nbreak",
        d: new Error("boom"),
      },
    });
  });
  assertEquals(out.endsWith("\n"), true);
  assertEquals(out.slice(0, -1).includes("\n"), false, out);
  assertEquals(out.includes("\r"), false, out);
});
