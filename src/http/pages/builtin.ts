/** The built-in pages. Each is a pure function of its input; every value is escaped. */
import { escapeHtml } from "./escape.ts";
import { renderPage } from "./layout.ts";

export interface ConfirmPageInput {
  /** The client certificate's common name. */
  commonName: string;
  /** The VPN client's public address as OpenVPN saw it. */
  clientIp: string;
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

export interface SuccessPageInput {
  username: string;
}

export interface DeniedPageInput {
  /** Short and user-presentable, e.g. an authorization `Decision` reason. */
  reason: string;
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
 * "Sign in to the VPN": names the connection being authorized, so that a user sent someone
 * else's link sees that it is not their connection, and asks for one click before going to the
 * identity provider.
 */
export function confirmPage(input: ConfirmPageInput): string {
  const client = [input.platform, input.clientVersion].filter((part) => part).join(" ");
  const minutes = displayMinutes(input.expiresInMinutes);
  const csrfField = input.csrf === undefined
    ? ""
    : `\n<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">`;
  return renderPage(
    "Sign in to the VPN",
    `<p>Sign in to allow the VPN connection for certificate <strong>${
      escapeHtml(input.commonName)
    }</strong> from <strong>${escapeHtml(input.clientIp)}</strong>${
      client === "" ? "" : `, ${escapeHtml(client)}`
    }.</p>
<p>This link expires in ${minutes} ${minutes === 1 ? "minute" : "minutes"}.</p>
<p class="warning">If you did not just start this VPN connection yourself, close this window: someone may be trying to connect as you.</p>
<form method="post" action="${escapeHtml(input.actionUrl)}">${csrfField}
<button id="continue" type="submit">Continue to sign-in</button>
</form>`,
  );
}

export function expiredPage(): string {
  return renderPage(
    "Sign-in link expired",
    "<p>This sign-in link has expired. Reconnect your VPN to get a new one.</p>",
  );
}

export function successPage(input: SuccessPageInput): string {
  return renderPage(
    "You are connected",
    `<p>You are connected. You can close this window.</p>
<p class="muted">Signed in as <strong>${escapeHtml(input.username)}</strong>.</p>`,
  );
}

export function deniedPage(input: DeniedPageInput): string {
  return renderPage(
    "Access denied",
    `<p>${escapeHtml(input.reason)}</p>
<p class="muted">If you think this is wrong, contact your administrator.</p>`,
  );
}

/** A generic error page: shows only what the caller chose to say, never a stack trace. */
export function errorPage(input: ErrorPageInput): string {
  return renderPage(
    input.title,
    `<p>${escapeHtml(input.message)}</p>
<p class="muted">Error ${escapeHtml(String(input.status))}</p>`,
  );
}
