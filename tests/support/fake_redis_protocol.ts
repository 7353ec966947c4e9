/**
 * Just enough of Redis's protocol (RESP) for the fake servers of tests whose peer's timing must
 * be exact (a real redis-server cannot be made to drop a connection between a command and its
 * answer, or to answer the handshake and then nothing).
 */

import { LOADING_CHECK_SCRIPT } from "../../src/sessions/redis_connection.ts";

/** Commands ioredis sends on a new connection before it is ready, and the store's INFO at its start. */
const HANDSHAKE = new Set(["INFO", "SELECT", "CLIENT", "AUTH", "HELLO"]);

const INFO_REPLY = "# Server\r\nredis_version:7.0.0\r\nloading:0\r\n";

/**
 * The reply to a command of the handshake: a HANDSHAKE command (INFO's text, else "+OK"), or the
 * start's check that Redis is done loading (connectRedis: a script that returns 1); undefined
 * for any other command.
 */
export function handshakeReply(args: readonly string[]): string | undefined {
  const name = (args[0] ?? "").toUpperCase();
  if (name === "EVAL" && args[1] === LOADING_CHECK_SCRIPT) return ":1\r\n";
  if (!HANDSHAKE.has(name)) return undefined;
  return name === "INFO" ? `$${INFO_REPLY.length}\r\n${INFO_REPLY}\r\n` : "+OK\r\n";
}

/** One RESP array of bulk strings from the start of `text`, or undefined if incomplete. */
export function parseCommand(text: string): { args: string[]; length: number } | undefined {
  const header = /^\*(\d+)\r\n/.exec(text);
  if (!header) return undefined;
  let offset = header[0].length;
  const args: string[] = [];
  for (let index = 0; index < Number(header[1]); index++) {
    const bulk = /^\$(\d+)\r\n/.exec(text.slice(offset));
    if (!bulk) return undefined;
    const start = offset + bulk[0].length;
    const end = start + Number(bulk[1]);
    if (text.length < end + 2) return undefined;
    args.push(text.slice(start, end));
    offset = end + 2;
  }
  return { args, length: offset };
}
