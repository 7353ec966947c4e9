/**
 * What a `>CLIENT:CONNECT` or `REAUTH` block asks, read from its ENV once. A class rather than
 * an object plus a copy with the client's address: the address is read from the ENV only when
 * something uses it (a login, a deny, a log line), and a REAUTH never reads `IV_SSO` or `IV_VER`:
 * every client renegotiates hourly, and each read of the ENV is a search of its text.
 */
import { clientAddress } from "./tunnel_details.ts";
import type { ClientEnv } from "../management/events.ts";
import type { ClientSide } from "./admission_types.ts";
import { certificateName } from "./certificate_name.ts";
import type { ClientRequest } from "./decide.ts";

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
  readonly #env: ClientEnv;

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
    this.commonName = certificateName(env);
    this.username = env.get("username") ?? "";
    this.sessionId = env.get("session_id") ?? "";
    this.sessionState = env.get("session_state") ?? "";
    this.ivSso = kind === "connect" ? env.get("IV_SSO") ?? "" : "";
    this.ivVer = kind === "connect" ? env.get("IV_VER") ?? "" : "";
    this.#env = env;
  }

  /** The client's address as OpenVPN saw it (IPv4 or IPv6), or empty. */
  get clientIp(): string {
    return clientAddress(this.#env);
  }

  get env(): ClientEnv {
    return this.#env;
  }
}
