import { assertEquals } from "../support/assert.ts";
import { getTextFormatter, type LogRecord } from "@logtape/logtape";
import {
  configureLogging,
  flushLogs,
  getLogger,
  plainValueRenderer,
  redirectLogOutput,
  words,
} from "../../src/log.ts";
import { Secret } from "../../src/config/secret.ts";
import { LINE_AND_BIDI_CODES } from "../support/line_and_bidi.ts";
import { INVISIBLE_MARK_CODES } from "../support/invisible_marks.ts";
import { JOINED_NAMES } from "../support/joined_names.ts";

for (const format of ["text", "json"] as const) {
  Deno.test(`a sensitive value in an array is masked in the ${format} output, message included`, () => {
    const out = captureStderr(() => {
      configureLogging("info", format);
      getLogger("test").info("Tokens {list}", {
        list: [{ refreshToken: "rt-in-array-789", user: "bob" }],
      });
    });
    assertEquals(out.includes("rt-in-array-789"), false, out);
    assertEquals(out.includes("bob"), true, out);
  });
}

Deno.test("a Secret prints as *** through every conversion", () => {
  const secret = new Secret("hunter2");
  assertEquals(String(secret), "***");
  assertEquals(JSON.stringify({ secret }), '{"secret":"***"}');
  assertEquals(Deno.inspect(secret), "***");
  assertEquals(`${secret}`, "***");
  assertEquals(secret.reveal(), "hunter2");
});

function captureStderr(body: () => void): string {
  let out = "";
  redirectLogOutput((text) => (out += text));
  try {
    body();
    flushLogs();
  } finally {
    redirectLogOutput();
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

Deno.test("a carriage return in a logged Error's message is escaped in text format", () => {
  // inspect writes an Error's message raw: a CR there would let the rest overwrite the line.
  const out = captureStderr(() => {
    configureLogging("info", "text");
    getLogger("test").error("Sweep failed: {error}", {
      error: new Error("store said\r2026-01-01 00:00:00.000 +00:00 [INF] all fine"),
    });
  });
  assertEquals(out.includes("\r"), false, JSON.stringify(out));
  assertEquals(out.includes("store said\\r2026"), true, JSON.stringify(out));
});

Deno.test("terminal controls in a logged Error's message are escaped in text format", () => {
  // inspect writes an Error's message raw: an ESC there could clear the operator's screen.
  const out = captureStderr(() => {
    configureLogging("info", "text");
    getLogger("test").error("Sweep failed: {error}", {
      error: new Error("x\u001b[2J\u0007\u0000y\u009b"),
    });
  });
  const lines = out.split("\n").filter((line) => line.includes("Sweep failed"));
  assertEquals(lines.length, 1, JSON.stringify(out));
  const controls = [...lines[0]!].filter((c) => c < "\u0020" || (c >= "\u007f" && c <= "\u009f"));
  assertEquals(controls, [], JSON.stringify(out));
  assertEquals(lines[0]!.includes("x\\x1b[2J\\x07\\x00y\\x9b"), true, JSON.stringify(out));
});

Deno.test("text records render values exactly as LogTape's default, quicker for plain ones", () => {
  const values: unknown[] = [
    "alice",
    "",
    "client-1234",
    "10.1.2.3",
    "2001:db8::1",
    "2b8f1c2e-1111-2222-3333-444455556666",
    "/vpn-users",
    "a b~c{d}e|f^g",
    "x".repeat(500),
    `it's`,
    `say "hi"`,
    "back\\slash",
    "tick`",
    `'"\``,
    "tab\there",
    "line\nbreak",
    "ümlaut",
    "\u001b[31mred",
    "emoji 🙂",
    0,
    12345,
    -7,
    -0,
    1.5,
    NaN,
    Infinity,
    2 ** 60,
    null,
    undefined,
    true,
    false,
    12n,
    ["a", 1],
    { a: "b" },
    new Error("boom"),
  ];
  const record = (value: unknown): LogRecord => ({
    category: ["openvpn-auth-oidc"],
    level: "info",
    message: ["v ", value, ""],
    rawMessage: "v {value}",
    timestamp: 0,
    properties: { value },
  });
  const standard = getTextFormatter();
  const quick = getTextFormatter({ value: plainValueRenderer() });
  for (const value of values) {
    assertEquals(quick(record(value)), standard(record(value)), `value ${String(value)}`);
  }
});

Deno.test("plain text takes the runtime's quote (Node and Bun inspect with single quotes)", () => {
  const render = plainValueRenderer();
  const nodeLike = (value: unknown) => typeof value === "string" ? `'${value}'` : String(value);
  assertEquals(render("alice", nodeLike), "'alice'");
  assertEquals(render(42, nodeLike), "42");
});

type Escaped = { char: string; escaped: string };

/** Each character of `codes`, with the escape a line shows it as. */
function escapedChars(codes: readonly number[]): Escaped[] {
  return codes.map((code) => ({
    char: String.fromCharCode(code),
    escaped: `\\u${code.toString(16).padStart(4, "0")}`,
  }));
}

/** What each test logs a user name holding, with their escapes. */
const ESCAPE_CASES = [
  { what: "line separators and bidi controls", chars: escapedChars(LINE_AND_BIDI_CODES) },
  { what: "bidi marks and zero-width characters", chars: escapedChars(INVISIBLE_MARK_CODES) },
].map(({ what, chars }) => ({
  what,
  chars,
  // With a C1 control (NEL, a line break to some viewers) that JSON.stringify leaves raw too.
  value: `alice${chars.map(({ char }) => `${char}x`).join("")}\u0085`,
}));

const SHOWN_AS_CODE = new Set([0x85, ...LINE_AND_BIDI_CODES, ...INVISIBLE_MARK_CODES]);

/** A failing line as the test report shows it: raw, a bidi control would reorder the report. */
function shown(line: string): string {
  return [...JSON.stringify(line)]
    .map((c) => SHOWN_AS_CODE.has(c.charCodeAt(0)) ? `<U+${c.charCodeAt(0).toString(16)}>` : c)
    .join("");
}

/** What a log line must show: each character escaped, none raw; JSON lines parse back to it. */
function assertEscaped(
  out: string,
  format: "text" | "json",
  { chars, value }: { chars: readonly Escaped[]; value: string },
): void {
  const lines = out.split("\n").filter((line) => line.includes("Login of"));
  assertEquals(lines.length, 1, shown(out));
  const line = lines[0]!;
  for (const { char, escaped } of chars) {
    assertEquals(line.includes(char), false, `raw ${escaped} in ${shown(line)}`);
    assertEquals(line.includes(escaped), true, `no ${escaped} in ${shown(line)}`);
  }
  assertEquals(line.includes("\u0085"), false, `raw U+0085 in ${shown(line)}`);
  if (format === "json") {
    const record = JSON.parse(line) as { properties: { user: string } };
    assertEquals(record.properties.user, value);
  }
}

/** The output of logging "Login of {user}" with `user` in `format`, in this process (Deno). */
function loggedHere(format: "text" | "json", user: string): string {
  return captureStderr(() => {
    configureLogging("info", format);
    getLogger("test").info("Login of {user}", { user });
  });
}

/**
 * The same under Bun, whose inspect and JSON formatter the released binary uses: they must leave
 * the same characters raw as Deno's do, for log.ts to escape.
 */
async function loggedByBun(format: "text" | "json", user: string): Promise<string> {
  const script = new URL("./_log_escape_child.ts", import.meta.url).pathname;
  const { success, stderr } = await new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: [script, format, user],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stderr);
  assertEquals(success, true, out);
  return out;
}

for (const escapeCase of ESCAPE_CASES) {
  for (const format of ["text", "json"] as const) {
    Deno.test(`${escapeCase.what} in a value are escaped in the ${format} output`, () => {
      assertEscaped(loggedHere(format, escapeCase.value), format, escapeCase);
    });
    Deno.test(`${escapeCase.what} in a value are escaped in the ${format} output (bun)`, async () => {
      assertEscaped(await loggedByBun(format, escapeCase.value), format, escapeCase);
    });
  }
}

// Words are code's, but a line is escaped whole: words holding what a value may not hold raw
// cannot forge a record either.
for (const escapeCase of ESCAPE_CASES) {
  for (const format of ["text", "json"] as const) {
    Deno.test(`${escapeCase.what} in words() are escaped in the ${format} output`, () => {
      const out = captureStderr(() => {
        configureLogging("info", format);
        getLogger("test").info("Login of {user}", { user: words(escapeCase.value) });
      });
      assertEscaped(out, format, escapeCase);
    });
  }
}

for (const format of ["text", "json"] as const) {
  Deno.test(`words() join the sentence unquoted in the ${format} output; values stay quoted`, () => {
    const out = captureStderr(() => {
      configureLogging("info", format);
      getLogger("test").info("The revoke of {user} {fate}: {detail}", {
        user: "alice",
        fate: words("is kept"),
        detail: words("the store at redis:u:words-pw-marker@h\nis down"),
      });
    });
    const [line, ...more] = out.split("\n").filter((text) => text !== "");
    assertEquals(more, [], out);
    assertEquals(line!.includes("words-pw-marker"), false, line);
    const sentence = 'The revoke of "alice" is kept: the store at redis:u:***@h\nis down';
    if (format === "text") {
      assertEquals(line!.endsWith(sentence.replace("\n", "\\n")), true, line);
    } else {
      const record = JSON.parse(line!);
      assertEquals(record.message, sentence);
      assertEquals(record.properties.fate, "is kept");
    }
  });
}

/** Every name of JOINED_NAMES in one value, as a user name holding them all. */
const JOINED_VALUE = JOINED_NAMES.map(({ name }) => name).join(" ");

/** A log line of JOINED_VALUE shows each name as written; a JSON line parses back to it. */
function assertJoinedKept(out: string, format: "text" | "json"): void {
  const lines = out.split("\n").filter((line) => line.includes("Login of"));
  assertEquals(lines.length, 1, shown(out));
  const line = lines[0]!;
  for (const { what, name } of JOINED_NAMES) {
    assertEquals(line.includes(name), true, `${what} not as written in ${shown(line)}`);
  }
  if (format === "json") {
    const record = JSON.parse(line) as { properties: { user: string } };
    assertEquals(record.properties.user, JOINED_VALUE);
  }
}

for (const format of ["text", "json"] as const) {
  Deno.test(`names with joiners and emoji selectors that shape them show as written in the ${format} output`, () => {
    assertJoinedKept(loggedHere(format, JOINED_VALUE), format);
  });
  Deno.test(`names with joiners and emoji selectors that shape them show as written in the ${format} output (bun)`, async () => {
    assertJoinedKept(await loggedByBun(format, JOINED_VALUE), format);
  });
}
