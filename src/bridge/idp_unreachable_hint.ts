/**
 * For the log of a refresh check that could not ask the IdP (a REAUTH's denial, the outage's
 * warning: refresh_outage.ts): what decides what became of the client (README:
 * sessions.idp_unreachable), which the operator can change.
 */
export const IDP_UNREACHABLE_HINT = 'sessions.idp_unreachable = "deny" (the default) fails ' +
  'closed while the IdP cannot be asked; "allow" keeps users connected on their stored session';
