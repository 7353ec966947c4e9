/**
 * Parses the payload of a `>CLIENT:` line that is not an ENV line: the header of a block
 * (CONNECT, REAUTH, ESTABLISHED, DISCONNECT, CR_RESPONSE) or the one-line ADDRESS event.
 * Pure; never throws.
 */
import type { ClientAddressEvent } from "./events.ts";

export type BlockHeader =
  | { kind: "client-connect" | "client-reauth"; cid: number; kid: number }
  | { kind: "client-established" | "client-disconnect"; cid: number }
  | { kind: "client-cr-response"; cid: number; kid: number; response: string };

export type ClientHeader =
  | { type: "block"; header: BlockHeader }
  | { type: "address"; event: ClientAddressEvent }
  /**
   * A known block type whose arguments do not parse: its ENV lines must still be skipped.
   * `ids` are the client and key id when the first arguments still name them (fail closed:
   * that client can be denied instead of waiting for a block that never comes).
   */
  | { type: "malformed-block"; subtype: string; ids?: { cid: number; kid?: number } }
  | { type: "malformed"; subtype: string }
  | { type: "unknown"; subtype: string };

const ID = /^\d{1,15}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ADDRESS = /^[\x21-\x7e]{1,128}$/;

/** A client or key id as OpenVPN prints it (`%lu`/`%u`), within JavaScript's safe integers. */
function parseId(text: string | undefined): number | undefined {
  return text !== undefined && ID.test(text) ? Number(text) : undefined;
}

export function parseClientHeader(payload: string): ClientHeader {
  const [subtype = "", ...args] = payload.split(",");
  switch (subtype) {
    case "CONNECT":
    case "REAUTH": {
      const cid = parseId(args[0]);
      const kid = parseId(args[1]);
      if (args.length !== 2 || cid === undefined || kid === undefined) {
        return malformedBlock(subtype, cid, kid);
      }
      const kind = subtype === "CONNECT" ? "client-connect" : "client-reauth";
      return { type: "block", header: { kind, cid, kid } };
    }
    case "ESTABLISHED":
    case "DISCONNECT": {
      const cid = parseId(args[0]);
      if (args.length !== 1 || cid === undefined) return malformedBlock(subtype, cid, undefined);
      const kind = subtype === "ESTABLISHED" ? "client-established" : "client-disconnect";
      return { type: "block", header: { kind, cid } };
    }
    case "CR_RESPONSE": {
      const cid = parseId(args[0]);
      const kid = parseId(args[1]);
      const response = args[2];
      if (
        args.length !== 3 || cid === undefined || kid === undefined || response === undefined ||
        !BASE64.test(response)
      ) {
        return malformedBlock(subtype, cid, kid);
      }
      return { type: "block", header: { kind: "client-cr-response", cid, kid, response } };
    }
    case "ADDRESS": {
      const cid = parseId(args[0]);
      const address = args[1];
      const primary = args[2];
      if (
        args.length !== 3 || cid === undefined || address === undefined ||
        !ADDRESS.test(address) || (primary !== "0" && primary !== "1")
      ) {
        return { type: "malformed", subtype };
      }
      return {
        type: "address",
        event: { type: "client-address", cid, address, primary: primary === "1" },
      };
    }
    default:
      return { type: "unknown", subtype };
  }
}

function malformedBlock(
  subtype: string,
  cid: number | undefined,
  kid: number | undefined,
): ClientHeader {
  if (cid === undefined) return { type: "malformed-block", subtype };
  return { type: "malformed-block", subtype, ids: kid === undefined ? { cid } : { cid, kid } };
}
