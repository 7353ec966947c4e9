/**
 * How an environment variable sets a list key (a `strings` key of the schema). The documented
 * form is a TOML array, `'["/vpn-users", "/staff/vpn-admins"]'`; a bare value is one item, so
 * that `..._ALLOWED_GROUPS=/vpn-users` keeps working. A bare value that reads like several
 * items is refused: taken as one it is a wrong access rule that nothing reports (a group that
 * never matches denies every user, a scope `openid profile` is not `openid`). But for a key whose
 * items are regular expressions: there a comma is syntax, and a bare value is one pattern.
 */
import type { SCHEMA, SERVER_SPEC } from "./schema.ts";

/**
 * What a list key's items are, where that changes how a bare value reads:
 * - `words`: no item holds whitespace (scopes are sent space-separated, proxies are addresses,
 *   origins URLs), so whitespace separates items as a comma does;
 * - `patterns`: each item is an anchored regular expression, in which a comma is syntax
 *   (`site-gw-[0-9]{1,3}`), so a bare value is one pattern, whatever it holds, as it always was.
 * Any other list key's items (groups, roles) may hold a space (`/VPN Users`) but never a comma,
 * so a refusal can show the array that was meant.
 */
export type ListItems = "words" | "patterns" | "names";

/** The list keys of a section whose items are `words` or `patterns`. */
type ItemsOf<Spec> = { readonly [K in keyof Spec]?: Exclude<ListItems, "names"> };

/** Those keys, by environment section (a single `[openvpn]` table's keys are SERVER_SPEC's). */
const LIST_ITEMS:
  & { readonly [S in keyof typeof SCHEMA]?: ItemsOf<(typeof SCHEMA)[S]> }
  & { readonly openvpn: ItemsOf<typeof SERVER_SPEC> } = {
    oidc: { scopes: "words" },
    http: { trusted_proxies: "words", form_action_origins: "words" },
    openvpn: { bypass_common_names: "patterns" },
  };

/** What the items of the list key `key` of `section` are. */
export function listItems(section: string, key: string): ListItems {
  const keys = (LIST_ITEMS as Record<string, Record<string, ListItems> | undefined>)[section];
  return (keys !== undefined && Object.hasOwn(keys, key) ? keys[key] : undefined) ?? "names";
}

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
  const items = listItems(section, key);
  if (items === "patterns") return { items: [text] };
  const words = items === "words";
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

/**
 * `text` split as it was meant (a comma is inside no item of a key this reaches), as a TOML
 * array. Items are not shown when one may hold a user name and password (`admin:pw@10.0.0.1`):
 * check-config and a refused reload print it.
 */
function arrayOf(text: string, words: boolean): string {
  const items = text.split(words ? /[\s,]+/ : /,/).map((item) => item.trim())
    .filter((item) => item !== "");
  if (text.includes("@")) return `[${items.map((_, i) => `"<item ${i + 1}>"`).join(", ")}]`;
  return `[${items.map(tomlString).join(", ")}]`;
}

/**
 * `item` as a TOML basic string (JSON's escapes are TOML's) holding no `'`: the array is shown
 * inside the shell's (and an `EnvironmentFile=`'s) single quotes, where an apostrophe
 * (`O'Brien`) would end the quoting and change the items.
 */
function tomlString(item: string): string {
  return JSON.stringify(item).replaceAll("'", "\\u0027");
}
