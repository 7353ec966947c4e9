/** The built-in pages. Each is a pure function of its input; every value is escaped. */
import { escapeHtml, escapeHtmlPrintable } from "./escape.ts";
import { renderPage } from "./layout.ts";
import { PAGE_TEXT, type PageText } from "./messages.ts";

export interface ConfirmPageInput {
  /** The client certificate's common name; empty for a client without a certificate. */
  commonName: string;
  /** The VPN client's public address as OpenVPN saw it. */
  clientIp: string;
  /**
   * The browser's address, when it is known and is not `clientIp` (browserOnOtherNetwork): the
   * page warns that the connection comes from another network. Undefined otherwise.
   */
  browserIp?: string | undefined;
  /** `IV_PLAT`, e.g. `linux`; may be missing. */
  platform?: string | undefined;
  /** `IV_VER`, e.g. `2.6.14`; may be missing. */
  clientVersion?: string | undefined;
  /** Minutes left before the sign-in link expires (rounded up, at least 1 shown). */
  expiresInMinutes: number;
  /** Where the form POSTs to (our own origin). */
  actionUrl: string;
  /** Sent back as the hidden form field `csrf` when given. */
  csrf?: string | undefined;
}

export interface ProceedPageInput {
  /** Where the page goes on to: the login link again, on our own origin. */
  url: string;
}

export interface SuccessPageInput {
  username: string;
}

export interface DeniedPageInput {
  /** Short and user-presentable, e.g. an authorization `Decision` reason. */
  reason: string;
  /** The denial's fixed code: pages in other languages show its translation. */
  code?: string | undefined;
}

export interface ErrorPageInput {
  title: string;
  message: string;
  status: number;
}

/** Minutes as shown to the user: whole, at least 1. */
export function displayMinutes(minutes: number): number {
  return Number.isFinite(minutes) ? Math.max(1, Math.ceil(minutes)) : 1;
}

/**
 * A value from outside inside a sentence of ours, escaped (escapeHtmlPrintable) and isolated:
 * `<bdi>` keeps a right-to-left name (Arabic, Hebrew) from reordering the words and numbers
 * around it ("... عمر from 203.0.113.7").
 */
function insertedValue(text: string): string {
  return `<bdi>${escapeHtmlPrintable(text)}</bdi>`;
}

/**
 * "Sign in to the VPN": names the connection being authorized, so that a user sent someone
 * else's link sees that it is not their connection, and asks for one click before going to the
 * identity provider.
 */
export function confirmPage(input: ConfirmPageInput, t: PageText = PAGE_TEXT.en): string {
  const client = [input.platform, input.clientVersion].filter((part) => part).join(" ");
  const minutes = displayMinutes(input.expiresInMinutes);
  const csrfField = input.csrf === undefined
    ? ""
    : `\n<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">`;
  return renderPage(
    t.confirmTitle,
    `<p>${confirmIntro(input, client === "" ? "" : `, ${insertedValue(client)}`, t)}</p>${
      otherNetwork(input, t)
    }
<p>${escapeHtml(t.expiresIn(minutes))}</p>
<p class="warning">${escapeHtml(t.confirmWarning)}</p>
<form method="post" action="${escapeHtml(input.actionUrl)}">${csrfField}
<button id="continue" type="submit">${escapeHtml(t.continueButton)}</button>
</form>`,
    t.tag,
  );
}

/** The warning of a browser on another network than the VPN client, or nothing. */
function otherNetwork(input: ConfirmPageInput, t: PageText): string {
  if (input.browserIp === undefined) return "";
  const strong = (value: string) => `<strong>${insertedValue(value)}</strong>`;
  return `\n<p class="warning">${
    t.otherNetworkWarning(strong(input.browserIp), strong(input.clientIp))
  }</p>`;
}

/**
 * The confirm page's first sentence: the connection by its certificate's name (a CA issued it),
 * or, for a client without a certificate, by its address alone. Not by the user name such a
 * client sent: that is its own word, and whoever sends a stranger the link types the name the
 * stranger expects to read (under `username_policy = "empty_or_match"` they must, to be admitted).
 */
function confirmIntro(input: ConfirmPageInput, client: string, t: PageText): string {
  const strong = (value: string) => `<strong>${insertedValue(value)}</strong>`;
  const ip = strong(input.clientIp);
  if (input.commonName !== "") return t.confirmIntro(strong(input.commonName), ip, client);
  return t.confirmIntroAddressOnly(ip, client);
}

/**
 * With `http.confirm_login = false`, the answer to a first visit without the login's cookie: sets
 * it (the route does) and comes straight back with it, so that a link preview, which does not
 * keep cookies, never begins the sign-in. A meta refresh, not a script (the CSP allows none),
 * and a button for browsers that do not follow it. The URL carries its own query (`?b=1`).
 */
export function proceedPage(input: ProceedPageInput, t: PageText = PAGE_TEXT.en): string {
  const url = new URL(input.url);
  const fields = [...url.searchParams].map(([name, value]) =>
    `\n<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`
  ).join("");
  url.search = "";
  return renderPage(
    t.confirmTitle,
    `<form method="get" action="${escapeHtml(url.href)}">${fields}
<button id="continue" type="submit">${escapeHtml(t.continueButton)}</button>
</form>`,
    t.tag,
    `\n<meta http-equiv="refresh" content="0;url=${escapeHtml(input.url)}">`,
  );
}

/** A reload of the callback page once its sign-in was answered: nothing to do, nothing wrong. */
export function finishedPage(t: PageText = PAGE_TEXT.en): string {
  return renderPage(t.finishedTitle, `<p>${escapeHtml(t.finishedText)}</p>`, t.tag);
}

export function expiredPage(t: PageText = PAGE_TEXT.en): string {
  return renderPage(t.expiredTitle, `<p>${escapeHtml(t.expiredText)}</p>`, t.tag);
}

export function successPage(input: SuccessPageInput, t: PageText = PAGE_TEXT.en): string {
  return renderPage(
    t.successTitle,
    `<p>${escapeHtml(t.successText)}</p>
<p class="muted">${t.signedInAs(`<strong>${insertedValue(input.username)}</strong>`)}</p>`,
    t.tag,
  );
}

/** The denial reason in the page's language: by code where translated, else as given. */
export function localizedReason(input: DeniedPageInput, t: PageText): string {
  return (input.code !== undefined ? t.reasons[input.code] : undefined) ?? input.reason;
}

export function deniedPage(input: DeniedPageInput, t: PageText = PAGE_TEXT.en): string {
  return renderPage(
    t.deniedTitle,
    `<p>${escapeHtml(localizedReason(input, t))}</p>
<p class="muted">${escapeHtml(t.deniedContact)}</p>`,
    t.tag,
  );
}

/** A generic error page: shows only what the caller chose to say, never a stack trace. */
export function errorPage(input: ErrorPageInput, t: PageText = PAGE_TEXT.en): string {
  return renderPage(
    input.title,
    `<p>${escapeHtml(input.message)}</p>
<p class="muted">${escapeHtml(t.errorStatus(String(input.status)))}</p>`,
    t.tag,
  );
}
