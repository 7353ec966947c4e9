/**
 * The user name policy compares names exactly, case included (README, `openvpn.username_policy`):
 * Keycloak signs `Alice` in as `alice`, and the VPN user name `Alice` is refused. The text the
 * VPN client and the deny page show says so, in every language, and still fits `client-deny`.
 */
import { assert } from "../../support/assert.ts";
import { clientMessage } from "../../../src/bridge/client_messages.ts";
import { checkUsername } from "../../../src/bridge/username_policy.ts";
import { clientDeny } from "../../../src/management/commands.ts";
import { PAGE_TEXT } from "../../../src/http/pages/messages.ts";

/** How each language says that upper and lower case count. */
const CASE_COUNTS = {
  en: "including case",
  de: "Groß- und Kleinschreibung",
  fr: "majuscules et minuscules",
  es: "mayúsculas y minúsculas",
} as const;

for (const policy of ["match", "empty_or_match"] as const) {
  Deno.test(`username_policy "${policy}": the VPN client is told the names must match including case, in every language, within client-deny's limits`, () => {
    const denial = checkUsername(policy, "Alice", { username: "alice" }).denial;
    assert(denial?.code === "username_mismatch", denial?.code);
    for (const [language, words] of Object.entries(CASE_COUNTS)) {
      const text = clientMessage(denial.reason, language as keyof typeof CASE_COUNTS);
      assert(text.includes(words), `${language}: ${text}`);
      clientDeny(1, 1, denial.logReason, text);
    }
  });
}

Deno.test("the deny page tells a username_mismatch the names must match including case, in every language", () => {
  const english = checkUsername("match", "Alice", { username: "alice" }).denial!;
  for (const [language, words] of Object.entries(CASE_COUNTS)) {
    // English pages show the bridge's own reason (messages.ts).
    const text = PAGE_TEXT[language as keyof typeof CASE_COUNTS].reasons.username_mismatch ??
      english.reason;
    assert(text.includes(words), `${language}: ${text}`);
  }
});
