/**
 * openvpn.username_policy: how the user name a VPN client sends must relate to the identity
 * signed in at the IdP. OpenVPN's status, logs and scripts (and `username-as-common-name`)
 * use the name the client sent, which nothing else checks.
 */
import type { OpenvpnServerConfig } from "../config/types.ts";
import type { Identity } from "../policy/identity.ts";
import { type Denial, USERNAME_MISMATCH } from "./denial.ts";

export type UsernamePolicy = OpenvpnServerConfig["usernamePolicy"];

export interface UsernameCheck {
  denial?: Denial;
  /** `any` let through a name that differs from the identity: worth a warning. */
  warn?: boolean;
}

/**
 * `match`: the client's user name equals the identity's username claim; `empty_or_match`: or
 * is empty (certificate-only clients); `any`: anything, flagged when it differs. An unknown
 * client name (`undefined`, no client asking) is not checked.
 */
export function checkUsername(
  policy: UsernamePolicy,
  clientUsername: string | undefined,
  identity: Pick<Identity, "username">,
): UsernameCheck {
  if (clientUsername === undefined || clientUsername === identity.username) return {};
  if (policy === "any") return { warn: true };
  if (policy === "empty_or_match" && clientUsername === "") return {};
  return { denial: USERNAME_MISMATCH[policy] };
}
