import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import {
  builtinLocalizedPages,
  builtinPages,
  confirmFormProblem,
  confirmPage,
  deniedPage,
  errorPage,
  escapeHtml,
  expiredPage,
  finishedPage,
  loadTemplates,
  PAGE_STYLE_SOURCE,
  PAGE_TEXT,
  proceedPage,
  successPage,
  TemplateError,
  type TemplateReader,
} from "../../../src/http/pages/mod.ts";
import { PAGE_STYLE, styleHashSource } from "../../../src/http/pages/style.ts";
import { DENIAL_REASONS } from "../../../src/metrics/port.ts";
import { INVISIBLE_MARK_CODES } from "../../support/invisible_marks.ts";
import { JOINED_NAMES } from "../../support/joined_names.ts";

const HOSTILE = `<script>alert("x")</script>'&{{csrf}}`;
const HOSTILE_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;{{csrf}}";

const CONFIRM = {
  commonName: "alice-laptop",
  clientIp: "203.0.113.7",
  platform: "linux",
  clientVersion: "2.6.14",
  expiresInMinutes: 5,
  actionUrl: "https://vpn.example.com/login/abc",
  csrf: "tok",
};

/** Checks the document shape every page shares. */
function assertWellFormedPage(html: string, title: string): void {
  assert(html.startsWith('<!doctype html>\n<html lang="en">'), "doctype and lang");
  assertStringIncludes(html, `<title>${title}</title>`);
  assertStringIncludes(
    html,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
  );
  assertEquals(html.match(/<main>/g)?.length, 1);
  assertEquals(html.match(/<h1>/g)?.length, 1);
  // The one link is the empty inline icon (no /favicon.ico request, which the CSP would refuse).
  assertEquals(html.match(/<link\b[^>]*>/gi), ['<link rel="icon" href="data:,">'], "links");
  assertEquals(/<script|src=/i.test(html), false, "no scripts or external assets");
  assertStringIncludes(html, "prefers-color-scheme: dark");
}

Deno.test("escapeHtml() escapes all five special characters", () => {
  assertEquals(escapeHtml(`&<>"'`), "&amp;&lt;&gt;&quot;&#39;");
  assertEquals(escapeHtml("plain text, é ✓"), "plain text, é ✓");
  assertEquals(escapeHtml("&amp;"), "&amp;amp;");
  assertEquals(escapeHtml(""), "");
});

Deno.test("escapeHtml() leaves no markup in a 10 kB hostile string", () => {
  const hostile = `"><img src=x onerror=alert(1)>'<svg/onload=alert(2)>&#x3c;`.repeat(200)
    .slice(0, 10_240);
  assertEquals(hostile.length, 10_240);
  const escaped = escapeHtml(hostile);
  assertEquals(/[<>"']/.test(escaped), false);
  assertEquals(escaped.includes("&#x3c;"), false);
  const decoded = escaped.replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&");
  assertEquals(decoded, hostile);
});

Deno.test("confirmPage() names the connection and posts to the action URL", () => {
  const html = confirmPage(CONFIRM);
  assertWellFormedPage(html, "Sign in to the VPN");
  assertStringIncludes(
    html,
    "VPN connection for certificate <strong><bdi>alice-laptop</bdi></strong> from <strong><bdi>203.0.113.7</bdi></strong>, <bdi>linux 2.6.14</bdi>.",
  );
  assertStringIncludes(html, "This link expires in 5 minutes.");
  assertStringIncludes(html, '<form method="post" action="https://vpn.example.com/login/abc">');
  assertStringIncludes(html, '<input type="hidden" name="csrf" value="tok">');
  assertStringIncludes(html, '<button id="continue" type="submit">Continue to sign-in</button>');
  assertStringIncludes(html, "If you did not just start this VPN connection yourself");
});

Deno.test("confirmPage() handles a missing client version, no CSRF token and one minute", () => {
  const html = confirmPage({
    ...CONFIRM,
    platform: undefined,
    clientVersion: undefined,
    csrf: undefined,
    expiresInMinutes: 0.2,
  });
  assertStringIncludes(html, "from <strong><bdi>203.0.113.7</bdi></strong>.</p>");
  assertStringIncludes(html, "This link expires in 1 minute.");
  assertEquals(html.includes('name="csrf"'), false);
});

Deno.test("confirmPage() escapes every value", () => {
  const html = confirmPage({
    commonName: HOSTILE,
    clientIp: HOSTILE,
    platform: HOSTILE,
    clientVersion: HOSTILE,
    expiresInMinutes: 3,
    actionUrl: `https://x/"><script>`,
    csrf: `"><script>`,
  });
  assertEquals(html.includes("<script"), false);
  assertStringIncludes(html, `<strong><bdi>${HOSTILE_ESCAPED}</bdi></strong>`);
  assertStringIncludes(html, 'action="https://x/&quot;&gt;&lt;script&gt;"');
  assertStringIncludes(html, 'value="&quot;&gt;&lt;script&gt;"');
});

Deno.test("confirmPage() and successPage() show a bidi control in a name escaped, so the sentence after it keeps its order", () => {
  // After a raw U+202E "from 203.0.113.66" would read "66.311.0.302 morf".
  const confirm = confirmPage({
    ...CONFIRM,
    commonName: "mallory\u202e",
    clientIp: "203.0.113.66",
  });
  assertStringIncludes(
    confirm,
    "certificate <strong><bdi>mallory\\u202e</bdi></strong> from <strong><bdi>203.0.113.66</bdi></strong>",
  );
  assertStringIncludes(
    successPage({ username: "\u202eecila" }),
    "Signed in as <strong><bdi>\\u202eecila</bdi></strong>.",
  );
  // Every value the confirm page inserts, by the logs' rule: the isolates, the marks, zero-width.
  const html = confirmPage({
    commonName: "al\u200bice",
    clientIp: "\u2066203.0.113.7",
    platform: "linux\u200f",
    clientVersion: "2.6.14\u061c",
    expiresInMinutes: 3,
    actionUrl: "https://vpn.example.com/login/abc",
  });
  assertStringIncludes(html, "<bdi>al\\u200bice</bdi>");
  assertStringIncludes(html, "<bdi>\\u2066203.0.113.7</bdi>");
  assertStringIncludes(html, "<bdi>linux\\u200f 2.6.14\\u061c</bdi>");
  assertEquals(/[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]/.test(html), false);
});

Deno.test("confirmPage() shows a name with any character drawn as nothing escaped: it cannot pass for another", () => {
  for (const code of INVISIBLE_MARK_CODES) {
    const hex = code.toString(16).padStart(4, "0");
    const html = confirmPage({
      commonName: `al${String.fromCharCode(code)}ice`,
      clientIp: "203.0.113.7",
      platform: "linux",
      clientVersion: "2.6.14",
      expiresInMinutes: 3,
      actionUrl: "https://vpn.example.com/login/abc",
    });
    assertStringIncludes(html, `<bdi>al\\u${hex}ice</bdi>`, hex);
    assertEquals(/\p{Default_Ignorable_Code_Point}/u.test(html), false, hex);
  }
});

Deno.test("confirmPage() and successPage() show names in any script as they are, each isolated", () => {
  // The joiners and emoji selectors that shape a name too (a Persian name's ZWNJ, an emoji's ZWJ).
  const joined = JOINED_NAMES.map(({ name }) => name);
  for (const name of ["Jürgen", "李雷", "عمر", "שרה", ...joined]) {
    assertStringIncludes(
      confirmPage({ ...CONFIRM, commonName: name }),
      `certificate <strong><bdi>${name}</bdi></strong> from`,
    );
    assertStringIncludes(successPage({ username: name }), `<strong><bdi>${name}</bdi></strong>`);
  }
});

Deno.test("expiredPage(), successPage(), deniedPage() and errorPage() say their sentence", () => {
  const expired = expiredPage();
  assertWellFormedPage(expired, "Sign-in link expired");
  assertStringIncludes(
    expired,
    "This sign-in link has expired. Reconnect your VPN to get a new one.",
  );
  const success = successPage({ username: "alice" });
  assertWellFormedPage(success, "You are connected");
  assertStringIncludes(success, "You are connected. You can close this window.");
  assertStringIncludes(success, "<strong><bdi>alice</bdi></strong>");
  const denied = deniedPage({ reason: "You are not in a group allowed to use this VPN" });
  assertWellFormedPage(denied, "Access denied");
  assertStringIncludes(denied, "<p>You are not in a group allowed to use this VPN</p>");
  const error = errorPage({ title: "Bad request", message: "The link is broken.", status: 400 });
  assertWellFormedPage(error, "Bad request");
  assertStringIncludes(error, "<p>The link is broken.</p>");
  assertStringIncludes(error, "Error 400");
});

Deno.test("proceedPage() refreshes to its URL without a script and offers a button that GETs there; finishedPage() says the sign-in is over", () => {
  const html = proceedPage({ url: `https://vpn.example.com/login/abc?b=1&x="><script>` });
  assertWellFormedPage(html, "Sign in to the VPN");
  assertStringIncludes(
    html,
    `<meta http-equiv="refresh" content="0;url=https://vpn.example.com/login/abc?b=1&amp;x=&quot;&gt;&lt;script&gt;">\n<style>`,
  );
  assertStringIncludes(html, '<form method="get" action="https://vpn.example.com/login/abc">');
  assertStringIncludes(html, '<input type="hidden" name="b" value="1">');
  assertStringIncludes(html, '<input type="hidden" name="x" value="&quot;&gt;&lt;script&gt;">');
  assertStringIncludes(html, '<button id="continue" type="submit">Continue to sign-in</button>');
  assertEquals(html.includes("<script"), false);
  const finished = finishedPage();
  assertWellFormedPage(finished, "Sign-in finished");
  assertStringIncludes(
    finished,
    "<p>This sign-in is finished. If your VPN client is not connected, reconnect it.</p>",
  );
});

Deno.test("every built-in page in every language names an empty inline icon in its head, and links nothing else", () => {
  for (const [language, pages] of Object.entries(builtinLocalizedPages.byLanguage)) {
    const rendered = [
      pages.confirm(CONFIRM),
      pages.expired(),
      pages.success({ username: "alice" }),
      pages.denied({ reason: "No group", code: "group" }),
      pages.error({ title: "Bad request", message: "Broken.", status: 400 }),
      pages.proceed({ url: "https://vpn.example.com/login/abc?b=1" }),
      pages.finished(),
    ];
    for (const html of rendered) {
      const head = html.slice(0, html.indexOf("</head>"));
      // Allowed by the CSP's `img-src data:`: Firefox then requests no /favicon.ico.
      assertEquals(head.match(/<link\b[^>]*>/gi), ['<link rel="icon" href="data:,">'], language);
      assertEquals(html.match(/<link\b/gi)?.length, 1, language);
    }
  }
});

Deno.test("successPage(), deniedPage() and errorPage() escape hostile input", () => {
  const pages = [
    successPage({ username: HOSTILE }),
    deniedPage({ reason: HOSTILE }),
    errorPage({ title: HOSTILE, message: HOSTILE, status: 500 }),
  ];
  for (const html of pages) {
    assertEquals(html.includes("<script"), false);
    assertStringIncludes(html, HOSTILE_ESCAPED);
  }
});

Deno.test("PAGE_STYLE_SOURCE is the CSP hash of the inline style, CR LF normalized", () => {
  assertEquals(PAGE_STYLE_SOURCE, styleHashSource(PAGE_STYLE));
  assertEquals(styleHashSource("a{}\r\nb{}\rc{}"), styleHashSource("a{}\nb{}\nc{}"));
  // Known vector: SHA-256 of the empty string.
  assertEquals(styleHashSource(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
  assertStringIncludes(confirmPage(CONFIRM), `<style>${PAGE_STYLE}</style>`);
});

function reader(files: Record<string, string>): TemplateReader {
  return (path) => Promise.resolve(files[path]);
}

Deno.test("loadTemplates() without a directory gives the built-in pages", async () => {
  const pages = await loadTemplates(undefined, reader({}));
  assertEquals(pages.byLanguage.en.expired(), builtinPages.expired());
  assertEquals(pages.styleSources, builtinPages.styleSources);
});

Deno.test("loadTemplates() uses present templates, escapes placeholders, keeps built-ins", async () => {
  const { byLanguage: { en: pages } } = await loadTemplates(
    "/tpl",
    reader({
      "/tpl/success.html": "<p>Welcome {{ username }}! {{username}}</p>",
      "/tpl/confirm.html":
        `<form method="post" action="{{actionUrl}}"><input name="csrf" value="{{csrf}}">{{commonName}} {{platform}}{{clientVersion}} {{expiresInMinutes}}</form>`,
      "/tpl/error.html": "<h1>{{title}}</h1><p>{{message}} ({{status}})</p>",
    }),
  );
  assertEquals(
    pages.success({ username: HOSTILE }),
    `<p>Welcome ${HOSTILE_ESCAPED}! ${HOSTILE_ESCAPED}</p>`,
  );
  assertEquals(
    pages.confirm({ ...CONFIRM, platform: undefined, clientVersion: undefined, csrf: undefined }),
    `<form method="post" action="https://vpn.example.com/login/abc"><input name="csrf" value="">alice-laptop  5</form>`,
  );
  assertEquals(
    pages.error({ title: "T", message: "M", status: 502 }),
    "<h1>T</h1><p>M (502)</p>",
  );
  assertEquals(pages.expired(), expiredPage());
  assertEquals(pages.denied({ reason: "r" }), deniedPage({ reason: "r" }));
  assertEquals(pages.styleSources, [PAGE_STYLE_SOURCE]);
});

Deno.test("loadTemplates() pages show a bidi control in a placeholder's value escaped, as the built-in pages do", async () => {
  const { byLanguage: { en: pages } } = await loadTemplates(
    "/tpl",
    reader({
      "/tpl/success.html": "<p>Welcome {{username}}</p>",
      "/tpl/confirm.html":
        `<form method="post" action="{{actionUrl}}"><input name="csrf" value="{{csrf}}">{{commonName}} from {{clientIp}}</form>`,
    }),
  );
  assertEquals(pages.success({ username: "\u202eecila عمر" }), "<p>Welcome \\u202eecila عمر</p>");
  assertStringIncludes(
    pages.confirm({ ...CONFIRM, commonName: "mallory\u202e" }),
    "mallory\\u202e from 203.0.113.7",
  );
});

Deno.test("loadTemplates() refuses a directory with no page template (missing, or a typo): the built-ins are what leaving it out gives", async () => {
  await assertRejects(
    () => loadTemplates("/etc/openvpn-auth-oidc/templtes", reader({})),
    TemplateError,
    "No page template in /etc/openvpn-auth-oidc/templtes",
  );
  // One page in one language folder is enough.
  const pages = await loadTemplates(
    "/tpl",
    reader({ "/tpl/de/expired.html": "<p>Abgelaufen</p>" }),
  );
  assertEquals(pages.byLanguage.de.expired(), "<p>Abgelaufen</p>");
  assertEquals(pages.byLanguage.en.expired(), builtinPages.expired());
});

Deno.test("loadTemplates() refuses an unknown placeholder, naming file and placeholder", async () => {
  const error = await assertRejects(
    () => loadTemplates("/tpl", reader({ "/tpl/denied.html": "<p>{{reason}} {{rawHtml}}</p>" })),
    TemplateError,
    "Unknown placeholder {{rawHtml}} in template /tpl/denied.html",
  );
  assertEquals([error.file, error.placeholder], ["/tpl/denied.html", "rawHtml"]);
  await assertRejects(
    () => loadTemplates("/tpl", reader({ "/tpl/expired.html": "{{username}}" })),
    TemplateError,
    "Unknown placeholder {{username}} in template /tpl/expired.html",
  );
});

Deno.test("loadTemplates() refuses raw placeholders and a confirm form without action or token", async () => {
  await assertRejects(
    () => loadTemplates("/tpl", reader({ "/tpl/denied.html": "{{{reason}}}" })),
    TemplateError,
    "Raw placeholders",
  );
  await assertRejects(
    () => loadTemplates("/tpl", reader({ "/tpl/confirm.html": "<form>{{csrf}}</form>" })),
    TemplateError,
    "Missing placeholder {{actionUrl}} in template: /tpl/confirm.html",
  );
  await assertRejects(
    () => loadTemplates("/tpl", reader({ "/tpl/confirm.html": "<form action={{actionUrl}}>" })),
    TemplateError,
    "Missing placeholder {{csrf}}",
  );
});

Deno.test("loadTemplates() refuses a confirm page whose placeholders are there but not in a form that can continue", async () => {
  const cases: Array<[string, string]> = [
    // The token outside the form's csrf field: every Continue would be refused (403).
    [
      '<form method="post" action="{{actionUrl}}"><p>{{csrf}}</p><button>Go</button></form>',
      'needs <input type="hidden" name="csrf" value="{{csrf}}">',
    ],
    [
      '<form method="post" action="{{actionUrl}}"><input name="token" value="{{csrf}}"></form>',
      'name="csrf"',
    ],
    // A GET form, an action elsewhere, an unquoted action.
    [
      '<form action="{{actionUrl}}"><input name="csrf" value="{{csrf}}"></form>',
      '<form method="post" action="{{actionUrl}}">',
    ],
    [
      '<a href="{{actionUrl}}">go</a><form method="post" action="/x"><input name="csrf" value="{{csrf}}"></form>',
      '<form method="post" action="{{actionUrl}}">',
    ],
    [
      '<form method="post" action={{actionUrl}}><input name="csrf" value="{{csrf}}"></form>',
      '<form method="post" action="{{actionUrl}}">',
    ],
  ];
  for (const [html, message] of cases) {
    await assertRejects(
      () => loadTemplates("/tpl", reader({ "/tpl/confirm.html": html })),
      TemplateError,
      message,
    );
  }
  // Spellings a browser posts alike are accepted.
  const pages = await loadTemplates(
    "/tpl",
    reader({
      "/tpl/confirm.html":
        "<FORM class='c' METHOD=POST action='{{ actionUrl }}'>\n<input value=\"{{csrf}}\" type=hidden name=csrf/></FORM>",
    }),
  );
  assertStringIncludes(
    pages.byLanguage.en.confirm({ ...CONFIRM, csrf: "tok" }),
    'value="tok"',
  );
});

Deno.test("loadTemplates() refuses a confirm form whose method is not post or whose csrf value is unquoted", async () => {
  const cases: Array<[string, string]> = [
    // A browser sends an unknown method as GET: Continue would never post the token.
    [
      '<form method=postal action="{{actionUrl}}"><input name="csrf" value="{{csrf}}"></form>',
      '<form method="post" action="{{actionUrl}}">',
    ],
    // Escaping protects quoted attribute values only.
    [
      '<form method="post" action="{{actionUrl}}"><input name="csrf" value={{csrf}}></form>',
      'value="{{csrf}}"',
    ],
  ];
  for (const [html, message] of cases) {
    await assertRejects(
      () => loadTemplates("/tpl", reader({ "/tpl/confirm.html": html })),
      TemplateError,
      message,
    );
  }
});

Deno.test("confirm pages round the minutes left up, built-in and template alike", async () => {
  assertStringIncludes(
    confirmPage({ ...CONFIRM, expiresInMinutes: 4.2 }),
    "This link expires in 5 minutes.",
  );
  assertStringIncludes(
    confirmPage({ ...CONFIRM, expiresInMinutes: NaN }),
    "This link expires in 1 minute.",
  );
  const pages = await loadTemplates(
    "/tpl",
    reader({
      "/tpl/confirm.html":
        '<form method="post" action="{{actionUrl}}"><input name="csrf" value="{{csrf}}">{{expiresInMinutes}}</form>',
    }),
  );
  assertStringIncludes(pages.byLanguage.en.confirm({ ...CONFIRM, expiresInMinutes: 4.2 }), ">5<");
});

Deno.test("the built-in confirm page passes the rule custom confirm pages must pass", () => {
  for (const [language, pages] of Object.entries(builtinLocalizedPages.byLanguage)) {
    // Rendered with the placeholders as values, it is what a template of it would read.
    const html = pages.confirm({ ...CONFIRM, actionUrl: "{{actionUrl}}", csrf: "{{csrf}}" });
    assertEquals(confirmFormProblem(html), undefined, language);
  }
});

Deno.test("loadTemplates() hashes template styles and refuses placeholders in them", async () => {
  const css = "body { color: red; }";
  const pages = await loadTemplates(
    "/tpl",
    reader({ "/tpl/expired.html": `<style media="all">${css}</style><p>Expired</p>` }),
  );
  assertEquals(pages.styleSources, [PAGE_STYLE_SOURCE, styleHashSource(css)]);
  await assertRejects(
    () =>
      loadTemplates(
        "/tpl",
        reader({ "/tpl/denied.html": "<style>p::after { content: '{{reason}}' }</style>" }),
      ),
    TemplateError,
    "inside <style>",
  );
});

Deno.test("loadTemplates() reads files from disk with the default reader", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/denied.html`, "<p>No: {{reason}}</p>");
    const { byLanguage: { en: pages } } = await loadTemplates(dir);
    assertEquals(pages.denied({ reason: "<b>" }), "<p>No: &lt;b&gt;</p>");
    assertEquals(pages.expired(), expiredPage());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTemplates() takes a language's own template first, then the shared one, then the built-in page", async () => {
  const pages = await loadTemplates(
    "/tpl",
    reader({
      "/tpl/de/denied.html": "<p lang=de>Nein: {{reason}}</p>",
      "/tpl/denied.html": "<p>No: {{reason}}</p>",
      "/tpl/fr/success.html": "<p>Bienvenue {{username}}</p>",
    }),
  );
  const denial = { reason: "You are not in a group allowed to use this VPN", code: "group" };
  assertEquals(
    pages.byLanguage.de.denied(denial),
    "<p lang=de>Nein: Sie sind in keiner Gruppe, die dieses VPN nutzen darf</p>",
  );
  assertEquals(
    pages.byLanguage.es.denied(denial),
    "<p>No: No pertenece a ningún grupo autorizado a usar esta VPN</p>",
  );
  assertEquals(pages.byLanguage.en.denied(denial), `<p>No: ${denial.reason}</p>`);
  assertEquals(pages.byLanguage.fr.success({ username: "<b>" }), "<p>Bienvenue &lt;b&gt;</p>");
  assertStringIncludes(
    pages.byLanguage.de.success({ username: "x" }),
    "<h1>Sie sind verbunden</h1>",
  );
  assertStringIncludes(pages.byLanguage.es.expired(), '<html lang="es">');
});

/**
 * Texts a language legitimately words as English does, by language and field. `tag` is no
 * text (each language's own BCP 47 tag, checked apart).
 */
const SAME_AS_ENGLISH: Readonly<Record<string, readonly string[]>> = {
  // "Error 500": Spanish for "error" is "error".
  es: ["errorStatus"],
};

/** Sample arguments for each of PageText's functions (what the pages pass them). */
const SAMPLE_ARGUMENTS: Readonly<Record<string, ReadonlyArray<readonly unknown[]>>> = {
  confirmIntro: [[
    "<strong><bdi>alice-laptop</bdi></strong>",
    "<strong><bdi>203.0.113.7</bdi></strong>",
    ", <bdi>linux 2.6.14</bdi>",
  ]],
  confirmIntroAddressOnly: [[
    "<strong><bdi>203.0.113.7</bdi></strong>",
    ", <bdi>linux 2.6.14</bdi>",
  ]],
  otherNetworkWarning: [[
    "<strong><bdi>198.51.100.7</bdi></strong>",
    "<strong><bdi>203.0.113.7</bdi></strong>",
  ]],
  expiresIn: [[1], [5]],
  signedInAs: [["<strong><bdi>alice</bdi></strong>"]],
  errorStatus: [["500"]],
};

Deno.test("every language translates every text the English pages have", () => {
  const english = PAGE_TEXT.en;
  const fields = Object.keys(english).sort();
  for (const [language, text] of Object.entries(PAGE_TEXT)) {
    assertEquals(Object.keys(text).sort(), fields, language);
    assertEquals(text.tag, language);
    assertEquals(Object.keys(text.errors).sort(), Object.keys(english.errors).sort(), language);
    if (language === "en") continue;
    assertEquals(Object.keys(text.reasons).sort(), Object.keys(PAGE_TEXT.de.reasons).sort());
    for (const [kind, { title, message }] of Object.entries(text.errors)) {
      const en = english.errors[kind as keyof typeof english.errors];
      assert(title !== en.title, `${language} ${kind} title untranslated`);
      assert(message !== en.message, `${language} ${kind} message untranslated`);
    }
    const same = SAME_AS_ENGLISH[language] ?? [];
    for (const field of fields) {
      if (field === "tag" || field === "reasons" || field === "errors") continue;
      const mine = (text as unknown as Record<string, unknown>)[field];
      const theirs = (english as unknown as Record<string, unknown>)[field];
      const outputs = (value: unknown): unknown[] => {
        if (typeof value === "string") return [value];
        assert(typeof value === "function", `${language}.${field}: neither text nor function`);
        const samples = SAMPLE_ARGUMENTS[field];
        assert(samples !== undefined, `no sample arguments for ${field}`);
        return samples.map((args) => (value as (...args: unknown[]) => unknown)(...args));
      };
      const [ours, inEnglish] = [outputs(mine), outputs(theirs)];
      for (const [i, output] of ours.entries()) {
        assertEquals(typeof output, "string", `${language}.${field}`);
        if (same.includes(field)) {
          assertEquals(
            output,
            inEnglish[i],
            `${language}.${field} is listed as the same as English`,
          );
        } else {
          assert(output !== inEnglish[i], `${language}.${field} untranslated: ${output}`);
        }
      }
      // The arguments reach the text: none is dropped in translation.
      for (const args of SAMPLE_ARGUMENTS[field] ?? []) {
        const output = String((mine as (...args: unknown[]) => unknown)(...args));
        for (const arg of args) {
          const shown = String(arg).trim();
          assert(output.includes(shown), `${language}.${field} drops ${shown}: ${output}`);
        }
      }
    }
  }
});

Deno.test("every denial code has a German, French and Spanish reason", () => {
  for (const language of ["de", "fr", "es"] as const) {
    for (const code of DENIAL_REASONS) {
      assert(PAGE_TEXT[language].reasons[code], `${language}: no reason for ${code}`);
    }
  }
});
