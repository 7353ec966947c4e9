/** The IdP's login form, shaped like Keycloak's (ids `username`, `password`, `kc-login`). */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface LoginPageInput {
  realm: string;
  action: string;
  clientId: string;
  username?: string;
  error?: string;
}

export function renderLoginPage(input: LoginPageInput): string {
  const error = input.error === undefined
    ? ""
    : `<div id="input-error" class="alert-error" role="alert">${escapeHtml(input.error)}</div>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to ${escapeHtml(input.realm)}</title>
</head>
<body>
<h1 id="kc-page-title">Sign in to your account</h1>
<p>Client: <span id="kc-client">${escapeHtml(input.clientId)}</span></p>
${error}
<form id="kc-form-login" method="post" action="${escapeHtml(input.action)}">
<label for="username">Username or email</label>
<input id="username" name="username" type="text" autocomplete="username" autofocus value="${
    escapeHtml(input.username ?? "")
  }">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="kc-login" name="login" type="submit" value="login">Sign In</button>
<button id="kc-cancel" name="cancel" type="submit" value="cancel" formnovalidate>Cancel</button>
</form>
</body>
</html>
`;
}

export function renderErrorPage(title: string, message: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1><p id="kc-error-message">${escapeHtml(message)}</p></body>
</html>
`;
}
