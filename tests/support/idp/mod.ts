/**
 * The Keycloak-like test IdP and its helpers. See server.ts for what it emulates and users.ts
 * for the default accounts (alice, bob, carol, dave, erin; passwords `<name>-password`).
 */
export {
  type PublicJwk,
  startTestIdp,
  type TestClient,
  type TestClientAuthMethod,
  type TestIdp,
  type TestIdpOptions,
} from "./server.ts";
export { startIdpForBridges } from "./bridge_client.ts";
export { DEFAULT_USERS, type ResolvedTestUser, type TestUser } from "./users.ts";
export {
  CookieJar,
  type HttpLoginOptions,
  LoginFormError,
  loginOverHttp,
} from "./login_over_http.ts";
