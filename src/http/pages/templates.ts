/**
 * Pages, optionally overridden by the administrator's own HTML templates (`http.templates_dir`).
 *
 * A template is a complete HTML file with `{{name}}` placeholders. Every placeholder is HTML-
 * escaped, its controls shown as the built-in pages show them (escapeHtmlPrintable); there is
 * deliberately no raw-HTML placeholder, so IdP or client data can never add markup. Use
 * placeholders only in element text and in quoted attribute values. Placeholders are checked
 * when the templates load: an unknown one is an error naming file and placeholder.
 *
 * `commonName` is `(no certificate)` for a client without one, in the page's language
 * (`(kein Zertifikat)`: messages.ts, noCertificate).
 * `browserIp` and `otherNetwork` are empty unless the browser's address is another than the VPN
 * client's; `otherNetwork` is then the built-in page's warning, in the page's language.
 *
 * | File            | Placeholders                                                                 |
 * | --------------- | ---------------------------------------------------------------------------- |
 * | `confirm.html`  | commonName, clientIp, platform, clientVersion, expiresInMinutes, actionUrl, csrf, |
 * |                 | browserIp, otherNetwork                                                      |
 * | `expired.html`  | (none)                                                                       |
 * | `success.html`  | username                                                                     |
 * | `denied.html`   | reason                                                                       |
 * | `error.html`    | title, message, status                                                       |
 *
 * Each template may also be given per language in a subfolder named by the language code
 * (`de/confirm.html`, `fr/denied.html`, ...); a page without a template in the browser's language
 * uses the one at the top of `templates_dir`, else the built-in page in that language.
 * `{{reason}}` on `denied.html` is already in the page's language where a translation exists.
 *
 * Two pages are always built-in: the one that sets the cookie and comes back with it
 * (`confirm_login = false`) and the one for a browser back at a sign-in that ended (a reloaded
 * callback, Back to the confirm page).
 *
 * `confirm.html` must contain a form that POSTs to `{{actionUrl}}` with a hidden field
 * `<input type="hidden" name="csrf" value="{{csrf}}">`; both placeholders are required.
 * Templates must be self-contained: the Content-Security-Policy allows no scripts and no
 * external styles, fonts or images (images as `data:` URLs work). The built-in pages'
 * `<link rel="icon" href="data:,">` in a template's `<head>` keeps Firefox from requesting
 * /favicon.ico against that policy (a console error on every page). Inline `<style>` elements
 * are allowed by their hashes, computed at load, so they must not contain placeholders.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  confirmPage,
  type ConfirmPageInput,
  deniedPage,
  type DeniedPageInput,
  displayMinutes,
  errorPage,
  type ErrorPageInput,
  expiredPage,
  finishedPage,
  localizedReason,
  proceedPage,
  type ProceedPageInput,
  successPage,
  type SuccessPageInput,
} from "./builtin.ts";
import { type Language, LANGUAGES } from "../../config/languages.ts";
import { escapeHtmlPrintable } from "./escape.ts";
import { PAGE_TEXT, type PageText } from "./messages.ts";
import { PAGE_STYLE_SOURCE, styleHashSource } from "./style.ts";

export interface Pages {
  confirm(input: ConfirmPageInput): string;
  expired(): string;
  success(input: SuccessPageInput): string;
  denied(input: DeniedPageInput): string;
  error(input: ErrorPageInput): string;
  /** A first visit without the login's cookie (`confirm_login = false`); built-in only. */
  proceed(input: ProceedPageInput): string;
  /** A browser back at a sign-in that ended (a reloaded callback, Back); built-in only. */
  finished(): string;
  /** CSP `style-src` sources (`'sha256-...'`) for the inline styles of these pages. */
  readonly styleSources: readonly string[];
}

/** Pages in every supported language, and the CSP style sources of them all. */
export interface LocalizedPages {
  readonly byLanguage: Readonly<Record<Language, Pages>>;
  readonly styleSources: readonly string[];
}

function builtinIn(t: PageText): Pages {
  return {
    confirm: (input) => confirmPage(input, t),
    expired: () => expiredPage(t),
    success: (input) => successPage(input, t),
    denied: (input) => deniedPage(input, t),
    error: (input) => errorPage(input, t),
    proceed: (input) => proceedPage(input, t),
    finished: () => finishedPage(t),
    styleSources: [PAGE_STYLE_SOURCE],
  };
}

/** The built-in pages in English. */
export const builtinPages: Pages = builtinIn(PAGE_TEXT.en);

/** The built-in pages in every language. */
export const builtinLocalizedPages: LocalizedPages = {
  byLanguage: Object.fromEntries(
    LANGUAGES.map((language) => [language, builtinIn(PAGE_TEXT[language])]),
  ) as Record<Language, Pages>,
  styleSources: [PAGE_STYLE_SOURCE],
};

/** Reads a template file; `undefined` when it does not exist. */
export type TemplateReader = (path: string) => Promise<string | undefined>;

/** A template that cannot be used; the service does not start with one. */
export class TemplateError extends Error {
  readonly file: string;
  readonly placeholder: string | undefined;

  constructor(message: string, file: string, placeholder?: string) {
    super(message);
    this.name = "TemplateError";
    this.file = file;
    this.placeholder = placeholder;
  }
}

const PLACEHOLDERS = {
  confirm: [
    "commonName",
    "clientIp",
    "platform",
    "clientVersion",
    "expiresInMinutes",
    "actionUrl",
    "csrf",
    "browserIp",
    "otherNetwork",
  ],
  expired: [],
  success: ["username"],
  denied: ["reason"],
  error: ["title", "message", "status"],
} as const satisfies Record<string, readonly string[]>;

type PageName = keyof typeof PLACEHOLDERS;

const REQUIRED: Partial<Record<PageName, readonly string[]>> = {
  confirm: ["actionUrl", "csrf"],
};

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const FORM_TAG = /<form\b[^>]*>/gi;
const INPUT_TAG = /<input\b[^>]*>/gi;
const POST_METHOD = /\smethod\s*=\s*(["']?)post\1(?=[\s/>])/i;
const ACTION_URL = /\saction\s*=\s*(["'])\{\{\s*actionUrl\s*\}\}\1/;
const CSRF_NAME = /\sname\s*=\s*(["']?)csrf\1(?=[\s/>])/;
const CSRF_VALUE = /\svalue\s*=\s*(["'])\{\{\s*csrf\s*\}\}\1/;

/**
 * Why a confirm page cannot continue a sign-in, or undefined. Both placeholders appearing
 * somewhere is not enough: without the token in the form's `csrf` field every Continue is
 * refused (403), and elsewhere `{{actionUrl}}` posts nothing to the bridge. Values are quoted:
 * escaping is for quoted attributes.
 */
export function confirmFormProblem(html: string): string | undefined {
  const forms = [...html.matchAll(FORM_TAG)].map((match) => match[0]);
  if (!forms.some((tag) => POST_METHOD.test(tag) && ACTION_URL.test(tag))) {
    return `The confirm page needs <form method="post" action="{{actionUrl}}">`;
  }
  const inputs = [...html.matchAll(INPUT_TAG)].map((match) => match[0]);
  if (!inputs.some((tag) => CSRF_NAME.test(tag) && CSRF_VALUE.test(tag))) {
    return `The confirm page's form needs <input type="hidden" name="csrf" value="{{csrf}}">`;
  }
  return undefined;
}
const STYLE_ELEMENT = /<style(?:\s[^>]*)?>([\s\S]*?)<\/style\s*>/gi;

/** Reads a file as UTF-8 with `node:fs`; a missing file is `undefined`, other errors throw. */
export async function readTemplateFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * The pages to serve in every language: templates from `dir/<language>/` or `dir/` where present
 * (`confirm.html`, `expired.html`, `success.html`, `denied.html`, `error.html`), built-in pages
 * otherwise, or all built-in when `dir` is `undefined`.
 *
 * @throws {TemplateError} for an unknown, missing or misplaced placeholder
 */
export async function loadTemplates(
  dir: string | undefined,
  read: TemplateReader = readTemplateFile,
): Promise<LocalizedPages> {
  if (dir === undefined) return builtinLocalizedPages;
  const styleSources = new Set(builtinPages.styleSources);
  let found = 0;
  const load = async (file: string, name: PageName) => {
    const text = await read(file);
    if (text === undefined) return undefined;
    found++;
    const template = checkTemplate(text, file, PLACEHOLDERS[name], REQUIRED[name] ?? []);
    const formProblem = name === "confirm" ? confirmFormProblem(text) : undefined;
    if (formProblem !== undefined) throw new TemplateError(`${formProblem}: ${file}`, file);
    for (const source of template.styleSources) styleSources.add(source);
    return template.text;
  };
  const loadSet = async (folder: string) => ({
    confirm: await load(join(folder, "confirm.html"), "confirm"),
    expired: await load(join(folder, "expired.html"), "expired"),
    success: await load(join(folder, "success.html"), "success"),
    denied: await load(join(folder, "denied.html"), "denied"),
    error: await load(join(folder, "error.html"), "error"),
  });
  const shared = await loadSet(dir);
  const byLanguage = {} as Record<Language, Pages>;
  for (const language of LANGUAGES) {
    const own = await loadSet(join(dir, language));
    const pick = (name: PageName) => own[name] ?? shared[name];
    byLanguage[language] = templatePages(
      {
        confirm: pick("confirm"),
        expired: pick("expired"),
        success: pick("success"),
        denied: pick("denied"),
        error: pick("error"),
      },
      PAGE_TEXT[language],
    );
  }
  if (found === 0) {
    // A directory that does not exist, or names no page: a typo, not a wish for the built-ins.
    throw new TemplateError(
      `No page template in ${dir} (nor in its language folders): expected confirm.html, ` +
        "expired.html, success.html, denied.html or error.html; leave http.templates_dir out " +
        "for the built-in pages",
      dir,
    );
  }
  const sources = [...styleSources];
  for (const language of LANGUAGES) {
    byLanguage[language] = { ...byLanguage[language], styleSources: sources };
  }
  return { byLanguage, styleSources: sources };
}

function templatePages(
  templates: Record<PageName, string | undefined>,
  t: PageText,
): Pages {
  const { confirm, expired, success, denied, error } = templates;
  const builtin = builtinIn(t);
  return {
    confirm: confirm === undefined ? builtin.confirm : (input) =>
      fill(confirm, {
        // Never the user name such a client sent (builtin.ts, confirmIntro).
        commonName: input.commonName === "" ? t.noCertificate : input.commonName,
        clientIp: input.clientIp,
        platform: input.platform ?? "",
        clientVersion: input.clientVersion ?? "",
        expiresInMinutes: String(displayMinutes(input.expiresInMinutes)),
        actionUrl: input.actionUrl,
        csrf: input.csrf ?? "",
        browserIp: input.browserIp ?? "",
        // As text: fill escapes it whole.
        otherNetwork: input.browserIp === undefined
          ? ""
          : t.otherNetworkWarning(input.browserIp, input.clientIp),
      }),
    expired: expired === undefined ? builtin.expired : () => fill(expired, {}),
    success: success === undefined
      ? builtin.success
      : (input) => fill(success, { username: input.username }),
    denied: denied === undefined
      ? builtin.denied
      : (input) => fill(denied, { reason: localizedReason(input, t) }),
    error: error === undefined
      ? builtin.error
      : (input) =>
        fill(error, { title: input.title, message: input.message, status: String(input.status) }),
    proceed: builtin.proceed,
    finished: builtin.finished,
    styleSources: builtin.styleSources,
  };
}

function checkTemplate(
  text: string,
  file: string,
  known: readonly string[],
  required: readonly string[],
): { text: string; styleSources: string[] } {
  if (text.includes("{{{")) {
    throw new TemplateError(
      `Raw placeholders ({{{...}}}) are not supported, every value is escaped: ${file}`,
      file,
    );
  }
  const used = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? "";
    if (!known.includes(name)) {
      const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
      throw new TemplateError(
        `Unknown placeholder {{${shown}}} in template ${file}: known are ${
          known.length === 0 ? "none" : known.join(", ")
        }`,
        file,
        name,
      );
    }
    used.add(name);
  }
  for (const name of required) {
    if (!used.has(name)) {
      throw new TemplateError(`Missing placeholder {{${name}}} in template: ${file}`, file, name);
    }
  }
  const styleSources: string[] = [];
  for (const match of text.matchAll(STYLE_ELEMENT)) {
    const css = match[1] ?? "";
    const placeholder = css.match(/\{\{\s*([^{}]*?)\s*\}\}/);
    if (placeholder) {
      throw new TemplateError(
        `Placeholder {{${
          placeholder[1]
        }}} inside <style> in template ${file}: styles are allowed by their hash and must be fixed`,
        file,
        placeholder[1],
      );
    }
    styleSources.push(styleHashSource(css));
  }
  return { text, styleSources };
}

/**
 * Replaces every placeholder in one pass, so a value that looks like `{{x}}` stays text. Our own
 * values (link, token, texts) hold no controls, so one escape serves them all.
 */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(
    PLACEHOLDER,
    (_match, name: string) => escapeHtmlPrintable(values[name] ?? ""),
  );
}
