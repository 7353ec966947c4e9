/**
 * What a client's log line calls its request, in the sentence (words()): the request is the
 * code's word, not data, so it is not quoted (`"reauth" of "alice"` read as a name). A JSON line
 * keeps its `kind` field as the code ("login", "connect", "reauth"), which collectors filter on;
 * the sentence's words are a field of their own (`request`).
 */
import { type Words, words } from "../log_words.ts";
import type { ClientSide } from "./admission_types.ts";

/** The four names, made once: a line is written per client request. */
const SIGN_IN = words("Sign-in");
const REAUTH = words("REAUTH");
const TOKEN_RECONNECT = words("Token reconnect");
const CONNECT = words("CONNECT");

/**
 * `kind` as a log line's sentence names it. `resumed`: the request resumes a stored session, so
 * a CONNECT is a token reconnect (OpenVPN checked the token it issued); a CONNECT the decision
 * table refuses may carry no token, and is called by OpenVPN's name.
 */
export function requestWords(kind: ClientSide["kind"], resumed: boolean): Words {
  if (kind === "login") return SIGN_IN;
  if (kind === "reauth") return REAUTH;
  return resumed ? TOKEN_RECONNECT : CONNECT;
}
