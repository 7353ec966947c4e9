/**
 * Reading claims by configured names: `claimAt` resolves dotted paths such as
 * `realm_access.roles` or `resource_access.my.client.roles`, `stringList` turns a claim value
 * into a list of strings for group and role checks. Pure functions.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Looks up `path` in `claims`. A key equal to the whole remaining path wins (claims such as
 * `https://example.com/groups` or `a.b` stay reachable); otherwise the path is split at a dot
 * and the lookup continues in the nested object, trying the shortest key first and then longer
 * keys containing dots (Keycloak client ids may contain dots: `resource_access.vpn.example.org.roles`).
 * Only own properties are read. Returns undefined when nothing matches.
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path === "") return undefined;
  if (Object.hasOwn(claims, path)) return claims[path];
  for (let dot = path.indexOf("."); dot !== -1; dot = path.indexOf(".", dot + 1)) {
    const key = path.slice(0, dot);
    if (!Object.hasOwn(claims, key)) continue;
    const nested = claims[key];
    if (!isRecord(nested)) continue;
    const found = claimAt(nested, path.slice(dot + 1));
    if (found !== undefined) return found;
  }
  return undefined;
}

export class ClaimTypeError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "ClaimTypeError";
  }
}

/**
 * Normalizes a claim value to a list of strings: an absent claim (undefined or null) is `[]`, a
 * string is a one-element list, an array must contain only strings. Anything else (numbers,
 * objects, mixed arrays) throws ClaimTypeError so that a malformed claim fails closed.
 */
export function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) {
    const index = value.findIndex((item) => typeof item !== "string");
    if (index !== -1) {
      throw new ClaimTypeError(
        `Claim is not a list of strings: element ${index} is ${describe(value[index])}`,
      );
    }
    return [...value] as string[];
  }
  throw new ClaimTypeError(`Claim is not a string or a list of strings: ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
