/**
 * Reads OpenVPN's client list out of a `status 3` reply (tab-separated). Columns are found by
 * their header names, since OpenVPN versions differ in which columns they print.
 */

/** One `CLIENT_LIST` row, as far as the bridge reads it. */
export interface ClientListRow {
  cid: number;
  /**
   * The row names no virtual address, IPv4 or IPv6 (the header has those columns): OpenVPN has
   * not admitted the client yet. False when the header lacks the column (it cannot be told).
   */
  unaddressed: boolean;
  /** `Connected Since (time_t)`, in seconds; undefined when not printed. */
  connectedSince: number | undefined;
}

export interface ClientList {
  rows: ClientListRow[];
  /** OpenVPN's clock as the reply's `TIME` line gives it, in seconds; undefined without one. */
  time: number | undefined;
}

/** The client list; undefined when the reply has no `CLIENT_LIST` header with a Client ID. */
export function clientListFromStatus(lines: readonly string[]): ClientList | undefined {
  let column = (_name: string) => -1;
  let cidAt = -1;
  let time: number | undefined;
  const rows: ClientListRow[] = [];
  for (const line of lines) {
    const fields = line.split("\t");
    if (fields[0] === "TIME") {
      time = seconds(fields[2]);
    } else if (fields[0] === "HEADER" && fields[1] === "CLIENT_LIST") {
      // A row has no HEADER field: a header's column n is a row's n - 1.
      column = (name) => fields.indexOf(name) - 1;
      cidAt = column("Client ID");
    } else if (fields[0] === "CLIENT_LIST" && cidAt > 0) {
      const cid = Number(fields[cidAt]);
      if (!Number.isSafeInteger(cid) || cid < 0) continue;
      const v4 = column("Virtual Address");
      const v6 = column("Virtual IPv6 Address");
      rows.push({
        cid,
        unaddressed: v4 > 0 && fields[v4] === "" && (v6 <= 0 || fields[v6] === ""),
        connectedSince: seconds(fields[column("Connected Since (time_t)")]),
      });
    }
  }
  return cidAt > 0 ? { rows, time } : undefined;
}

function seconds(field: string | undefined): number | undefined {
  const value = field === undefined || field === "" ? NaN : Number(field);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
