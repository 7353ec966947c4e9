/**
 * How an environment variable sets a list key (a `strings` key of the schema). The documented
 * form is a TOML array, `'["/vpn-users", "/staff/vpn-admins"]'`; a bare value is one item, so
 * that `..._ALLOWED_GROUPS=/vpn-users` keeps working. A bare value that reads like several
 * items is refused: taken as one it is a wrong access rule that nothing reports (a group that
 * never matches denies every user, a scope `openid profile` is not `openid`).
 */
import type { SCHEMA } from "./schema.ts";

/**
 * The list keys whose items cannot hold whitespace, by environment section: scopes are sent
 * space-separated, proxies are addresses, origins URLs. Group, role and common name items may
 * hold a space (`/VPN Users`), so a space in their bare value stays one item.
 */
const WORD_LIST_KEYS: {
  readonly [S in keyof typeof SCHEMA]?: readonly (keyof (typeof SCHEMA)[S])[];
} = {
  oidc: ["scopes"],
  http: ["trusted_proxies", "form_action_origins"],
};

/** A list variable's value: TOML text to parse, the items of a bare value, or why it is refused. */
export type EnvList =
  | { readonly toml: string }
  | { readonly items: readonly string[] }
  | { readonly problem: string };

/** Reads `text`, the value of `variable`, which sets the list key `key` of `section`. */
export function readEnvList(
  section: string,
  key: string,
  variable: string,
  text: string,
): EnvList {
  if (text.trimStart().startsWith("[")) return { toml: text };
  if (text === "") {
    // Not [""]: an empty bypass_common_names pattern would match an empty common name.
    return {
      problem: `Environment variable ${variable} is empty: write ${variable}='[]' for none`,
    };
  }
  const words = isWordList(section, key);
  const separator = words ? /[\s,]/ : /,/;
  if (!separator.test(text)) return { items: [text] };
  const held = text.includes(",") ? "a comma" : "whitespace";
  const why = held === "a comma"
    ? "a bare value is a single item"
    : `no item of ${section}.${key} can hold whitespace`;
  return {
    problem: `Environment variable ${variable} holds ${held}, but ${why}: write the list as ` +
      `a TOML array, ${variable}='${arrayOf(text, words)}'`,
  };
}

function isWordList(section: string, key: string): boolean {
  const keys: readonly string[] | undefined =
    (WORD_LIST_KEYS as Record<string, readonly string[] | undefined>)[section];
  return keys?.includes(key) ?? false;
}

/**
 * `text` split as it was likely meant, as a TOML array. Items are not shown when one may hold
 * a user name and password (`admin:pw@10.0.0.1`): check-config and a refused reload print it.
 */
function arrayOf(text: string, words: boolean): string {
  const items = text.split(words ? /[\s,]+/ : /,/).map((item) => item.trim())
    .filter((item) => item !== "");
  if (text.includes("@")) return `[${items.map((_, i) => `"<item ${i + 1}>"`).join(", ")}]`;
  return `[${items.map((item) => JSON.stringify(item)).join(", ")}]`;
}
