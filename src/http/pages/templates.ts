/**
 * Pages, optionally overridden by the administrator's own HTML templates (`http.templates_dir`).
 *
 * A template is a complete HTML file with `{{name}}` placeholders. Every placeholder is HTML-
 * escaped; there is deliberately no raw-HTML placeholder, so IdP or client data can never add
 * markup. Use placeholders only in element text and in quoted attribute values. Placeholders
 * are checked when the templates load: an unknown one is an error naming file and placeholder.
 *
 * | File            | Placeholders                                                                 |
 * | --------------- | ---------------------------------------------------------------------------- |
 * | `confirm.html`  | commonName, clientIp, platform, clientVersion, expiresInMinutes, actionUrl, csrf |
 * | `expired.html`  | (none)                                                                       |
 * | `success.html`  | username                                                                     |
 * | `denied.html`   | reason                                                                       |
 * | `error.html`    | title, message, status                                                       |
 *
 * `confirm.html` must contain a form that POSTs to `{{actionUrl}}` with a hidden field
 * `<input type="hidden" name="csrf" value="{{csrf}}">`; both placeholders are required.
 * Templates must be self-contained: the Content-Security-Policy allows no scripts and no
 * external styles, fonts or images (images as `data:` URLs work). Inline `<style>` elements are
 * allowed by their hashes, computed at load, so they must not contain placeholders.
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
  successPage,
  type SuccessPageInput,
} from "./builtin.ts";
import { escapeHtml } from "./escape.ts";
import { PAGE_STYLE_SOURCE, styleHashSource } from "./style.ts";

export interface Pages {
  confirm(input: ConfirmPageInput): string;
  expired(): string;
  success(input: SuccessPageInput): string;
  denied(input: DeniedPageInput): string;
  error(input: ErrorPageInput): string;
  /** CSP `style-src` sources (`'sha256-...'`) for the inline styles of these pages. */
  readonly styleSources: readonly string[];
}

/** The built-in pages. */
export const builtinPages: Pages = {
  confirm: confirmPage,
  expired: expiredPage,
  success: successPage,
  denied: deniedPage,
  error: errorPage,
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
 * The pages to serve: templates from `dir` where present (`confirm.html`, `expired.html`,
 * `success.html`, `denied.html`, `error.html`), built-in pages otherwise, or all built-in when
 * `dir` is `undefined`.
 *
 * @throws {TemplateError} for an unknown, missing or misplaced placeholder
 */
export async function loadTemplates(
  dir: string | undefined,
  read: TemplateReader = readTemplateFile,
): Promise<Pages> {
  if (dir === undefined) return builtinPages;
  const styleSources = new Set(builtinPages.styleSources);
  const load = async (name: PageName) => {
    const file = join(dir, `${name}.html`);
    const text = await read(file);
    if (text === undefined) return undefined;
    const template = checkTemplate(text, file, PLACEHOLDERS[name], REQUIRED[name] ?? []);
    for (const source of template.styleSources) styleSources.add(source);
    return template.text;
  };
  const [confirm, expired, success, denied, error] = [
    await load("confirm"),
    await load("expired"),
    await load("success"),
    await load("denied"),
    await load("error"),
  ];
  return {
    confirm: confirm === undefined ? confirmPage : (input) =>
      fill(confirm, {
        commonName: input.commonName,
        clientIp: input.clientIp,
        platform: input.platform ?? "",
        clientVersion: input.clientVersion ?? "",
        expiresInMinutes: String(displayMinutes(input.expiresInMinutes)),
        actionUrl: input.actionUrl,
        csrf: input.csrf ?? "",
      }),
    expired: expired === undefined ? expiredPage : () => fill(expired, {}),
    success: success === undefined
      ? successPage
      : (input) => fill(success, { username: input.username }),
    denied: denied === undefined ? deniedPage : (input) => fill(denied, { reason: input.reason }),
    error: error === undefined
      ? errorPage
      : (input) =>
        fill(error, { title: input.title, message: input.message, status: String(input.status) }),
    styleSources: [...styleSources],
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

/** Replaces every placeholder in one pass, so a value that looks like `{{x}}` stays text. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => escapeHtml(values[name] ?? ""));
}
