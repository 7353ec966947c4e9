import { startTestIdp, type TestIdp, type TestIdpOptions } from "./server.ts";

/**
 * The usual IdP of a bridge test: one confidential client, "openvpn" with `clientSecret`, that
 * may send users back to the /oauth2/callback of each bridge in `bridgeUrls`
 * (`http://127.0.0.1:<port>`). `options.clients` is ignored.
 */
export function startIdpForBridges(
  bridgeUrls: readonly string[],
  clientSecret: string,
  options: TestIdpOptions = {},
): Promise<TestIdp> {
  return startTestIdp({
    ...options,
    clients: [{
      clientId: "openvpn",
      clientSecret,
      redirectUris: bridgeUrls.map((url) => `${url}/oauth2/callback`),
    }],
  });
}
