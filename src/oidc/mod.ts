/** The OpenID Connect relying party of the bridge. */
export {
  createOidcClient,
  type LoginExpectation,
  type LoginResult,
  type LoginStart,
  type OidcClient,
  type OidcClientDeps,
  type RefreshResult,
} from "./client.ts";
export {
  checkOidcConfig,
  isLoopbackHttp,
  type OidcConfigProblem,
  RESERVED_AUTHORIZE_PARAMS,
  reservedAuthorizeParams,
} from "./config_checks.ts";
export { importPrivateKeyPem } from "./client_auth.ts";
export {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
  type OidcErrorCode,
} from "./errors.ts";
export type { FetchLike } from "./http.ts";
