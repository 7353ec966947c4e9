/**
 * Reads the client ids out of a `status 3` reply (tab-separated). The column is found by its
 * header name, since OpenVPN versions differ in which columns they print.
 */
export function clientIdsFromStatus(lines: readonly string[]): Set<number> | undefined {
  let column = -1;
  const ids = new Set<number>();
  for (const line of lines) {
    const fields = line.split("\t");
    if (fields[0] === "HEADER" && fields[1] === "CLIENT_LIST") {
      column = fields.indexOf("Client ID") - 1;
    } else if (fields[0] === "CLIENT_LIST" && column > 0) {
      const id = Number(fields[column]);
      if (Number.isSafeInteger(id) && id >= 0) ids.add(id);
    }
  }
  return column > 0 ? ids : undefined;
}
