/**
 * The reference responder: the smallest program that answers each management event correctly
 * on the same runtime, with no policy and no store. It connects to the management socket,
 * splits lines, and answers each complete `>CLIENT:` block: REAUTH with `client-auth-nt`,
 * CONNECT with `client-pending-auth` and a fixed login URL, a CONNECT that presents an auth
 * token (a reconnect) with `client-auth` and no config lines. It is the practical limit of the
 * runtime for this protocol; the bridge's figures are given as a ratio of its.
 *
 *   deno run -A bench/lib/reference_responder.ts /path/to/mgmt.sock
 */
import { createConnection } from "node:net";
import process from "node:process";

const path = process.argv[2];
if (path === undefined) throw new Error("Usage: reference_responder.ts SOCKET_PATH");

const URL_PREFIX = '"WEB_AUTH::http://127.0.0.1:9000/login/';
const socket = createConnection({ path });
socket.setEncoding("utf8");
let buffered = "";
let header: string | undefined;
let token = false;
let logins = 0;
socket.on("data", (chunk: string) => {
  buffered += chunk;
  let start = 0;
  let newline: number;
  let out = "";
  while ((newline = buffered.indexOf("\n", start)) !== -1) {
    const line = buffered.slice(start, newline);
    start = newline + 1;
    if (line.startsWith(">CLIENT:ENV,END")) {
      if (header !== undefined) {
        const [kind = "", cid = "", kid = ""] = header.slice(8).split(",");
        out += kind === "REAUTH"
          ? `client-auth-nt ${cid} ${kid}\n`
          : token
          ? `client-auth ${cid} ${kid}\nEND\n`
          : `client-pending-auth ${cid} ${kid} ${URL_PREFIX}${++logins}" 180\n`;
      }
      header = undefined;
      token = false;
    } else if (line.startsWith(">CLIENT:ENV,session_state=Authenticated")) {
      token = true;
    } else if (line.startsWith(">CLIENT:CONNECT,") || line.startsWith(">CLIENT:REAUTH,")) {
      header = line.trimEnd();
    } else if (line.startsWith(">INFO:")) {
      out += "status 3\n";
    }
  }
  buffered = buffered.slice(start);
  if (out !== "") socket.write(out);
});
socket.on("close", () => process.exit(0));
socket.on("error", () => process.exit(1));
