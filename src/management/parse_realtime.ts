/**
 * Parses one real-time line other than `>CLIENT:` (`>INFO`, `>HOLD`, `>PASSWORD`, `>LOG`,
 * `>STATE`, `>INFOMSG`, anything else) into an event. Pure; never throws.
 */
import { Secret } from "../config/secret.ts";
import type { ManagementEvent, ProtocolWarning } from "./events.ts";

const AUTH_TOKEN_PREFIX = "Auth-Token:";
const UNIX_TIME = /^\d{1,15}$/;

export function malformed(what: string): ProtocolWarning {
  return { type: "warning", code: "malformed-line", message: `Malformed ${what} line: skipped` };
}

/** `name` is the text between `>` and the first `:`, `payload` the rest. */
export function parseRealtime(name: string, payload: string): ManagementEvent {
  switch (name) {
    case "INFO":
      return { type: "info", message: payload };
    case "HOLD":
      return { type: "hold", message: payload };
    case "INFOMSG":
      return { type: "infomsg", message: payload };
    case "PASSWORD":
      return parsePassword(payload);
    case "LOG":
      return parseLog(payload);
    case "STATE":
      return parseState(payload);
    default:
      return { type: "unknown", name, payload };
  }
}

function parsePassword(payload: string): ManagementEvent {
  if (payload.startsWith(AUTH_TOKEN_PREFIX)) {
    return {
      type: "password",
      message: `${AUTH_TOKEN_PREFIX}***`,
      authToken: new Secret(payload.slice(AUTH_TOKEN_PREFIX.length)),
    };
  }
  return { type: "password", message: payload };
}

function parseLog(payload: string): ManagementEvent {
  const first = payload.indexOf(",");
  const second = first === -1 ? -1 : payload.indexOf(",", first + 1);
  const time = payload.slice(0, first);
  if (second === -1 || !UNIX_TIME.test(time)) return malformed(">LOG");
  return {
    type: "log",
    time: Number(time),
    flags: payload.slice(first + 1, second),
    message: payload.slice(second + 1),
  };
}

function parseState(payload: string): ManagementEvent {
  const fields = payload.split(",");
  const [time, state, description = "", ...details] = fields;
  if (time === undefined || state === undefined || !UNIX_TIME.test(time) || state === "") {
    return malformed(">STATE");
  }
  return { type: "state", time: Number(time), state, description, details };
}
