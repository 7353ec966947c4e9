/**
 * What a `>CLIENT:CONNECT` or `REAUTH` block asks, read from its ENV once, as strings of its
 * own. A REAUTH never reads what only a sign-in needs (`IV_SSO`, `IV_VER`, `IV_PLAT`, the
 * port): every client renegotiates hourly, and each read of the ENV is a search of its text.
 *
 * It keeps neither the ENV nor a slice of it. The ENV is a window on the socket chunk its block
 * came in (block_env.ts), and every value read out of it a slice of that chunk, which both
 * runtimes keep whole for as long as the slice lives. A request lives as long as its store
 * call: with Redis, across a round trip during which the bridge reads more chunks, so in a
 * REAUTH storm each one waiting held its chunk (about 2.4 KB of ENV per REAUTH) through the
 * young collections meanwhile, which copied it and then promoted it (bench/README.md). The
 * client's address is read here too: the REAUTH it resumes records it (Admission.resume), and a
 * login or a denial names it.
 */
import { clientAddress } from "./tunnel_details.ts";
import type { ClientEnv } from "../management/events.ts";
import type { ClientSide } from "./admission_types.ts";
import { certificateName } from "./certificate_name.ts";
import type { ClientRequest } from "./decide.ts";
import { ownString } from "../sessions/entry_check.ts";

export class EnvClientRequest implements ClientRequest, ClientSide {
  readonly kind: "connect" | "reauth";
  readonly server: string;
  readonly cid: number;
  readonly kid: number;
  readonly commonName: string;
  readonly username: string;
  readonly sessionId: string;
  readonly sessionState: string;
  /** A CONNECT's `IV_SSO` (empty for a REAUTH, which never starts a sign-in). */
  readonly ivSso: string;
  /** A CONNECT's `IV_VER` (empty for a REAUTH), for the reason a client without webauth gets. */
  readonly ivVer: string;
  /** A CONNECT's `IV_PLAT` (empty for a REAUTH), for its sign-in page. */
  readonly ivPlat: string;
  /** A CONNECT's source port (0 for a REAUTH, or when it is not a number), for its sign-in. */
  readonly clientPort: number;
  /** The client's address as OpenVPN saw it (IPv4 or IPv6), or empty. */
  readonly clientIp: string;

  constructor(
    kind: "connect" | "reauth",
    server: string,
    cid: number,
    kid: number,
    env: ClientEnv,
  ) {
    this.kind = kind;
    this.server = server;
    this.cid = cid;
    this.kid = kid;
    this.commonName = ownString(certificateName(env));
    this.username = ownString(env.get("username") ?? "");
    this.sessionId = ownString(env.get("session_id") ?? "");
    this.sessionState = ownString(env.get("session_state") ?? "");
    this.ivSso = kind === "connect" ? ownString(env.get("IV_SSO") ?? "") : "";
    this.ivVer = kind === "connect" ? ownString(env.get("IV_VER") ?? "") : "";
    this.ivPlat = kind === "connect" ? ownString(env.get("IV_PLAT") ?? "") : "";
    this.clientPort = kind === "connect" ? Number(env.get("untrusted_port") ?? 0) || 0 : 0;
    this.clientIp = ownString(clientAddress(env));
  }
}
