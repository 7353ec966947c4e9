/**
 * The verdict for one client: the policy over the claims (identity_policy.ts), then the
 * username policy, then the lines to send, with OpenVPN's token user name for a client that
 * sent none.
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import { authTokenUserLine } from "../policy/client_config.ts";
import { UNUSABLE_USERNAME } from "./denial.ts";
import { clientConfigHint, judge, type PolicyConfig, type Verdict } from "./identity_policy.ts";
import { checkUsername, type UsernamePolicy } from "./username_policy.ts";

export function judgeClient(
  claims: Record<string, unknown>,
  client: {
    kind: "login" | "connect" | "reauth";
    cid: number;
    commonName: string;
    username: string | undefined;
  },
  config: { policy: PolicyConfig; usernamePolicy: UsernamePolicy },
  log: Logger,
): Verdict {
  const verdict = judge(claims, client.commonName, config.policy, client.kind !== "reauth");
  if (!verdict.allow) return verdict;
  const { identity } = verdict;
  const username = checkUsername(config.usernamePolicy, client.username, identity);
  if (username.denial) return { allow: false, denial: username.denial, identity };
  if (username.warn && client.kind !== "reauth") {
    log.warning(
      "{username} signed in for OpenVPN user name {clientUsername} (cid {cid}): openvpn.username_policy = any",
      { username: identity.username, clientUsername: client.username, cid: client.cid },
    );
  }
  if (client.kind === "login") {
    const hint = clientConfigHint(claims, identity.groups, config.policy);
    if (hint !== undefined) {
      log.warning(
        "{username} signed in (cid {cid}) without the lines of a [[client_config]] rule that may be meant for them: {hint}",
        { username: identity.username, cid: client.cid, hint: words(hint) },
      );
    }
  }
  // Only a login or a reconnect sends lines; a client that sent a user name keeps it.
  if (client.kind === "reauth" || client.username !== "") return verdict;
  // OpenVPN's token needs a user name when the client sent none; one we cannot push
  // (too long for the client, control characters) would break every renegotiation.
  try {
    return { ...verdict, lines: [...verdict.lines, authTokenUserLine(identity.username)] };
  } catch {
    return { allow: false, denial: UNUSABLE_USERNAME, identity };
  }
}
