/**
 * The admin command's side of the control socket: send one request, read one answer. A socket
 * that is missing or refuses connections means the service is not running.
 */
import { createConnection } from "node:net";
import type { ControlRequest, ControlResponse } from "./protocol.ts";
import { ANSWER_TIMEOUT_MS, encodeRequest } from "./protocol.ts";

/**
 * Characters of an answer: a listed session takes about 330, so this is some 1,500,000 of them.
 * The answer is joined into one string, and V8's strings end at 2^29 - 24 characters (on Deno;
 * Bun's go further). Anything beyond is not our service.
 */
const MAX_ANSWER_CHARS = 512 * 1024 * 1024 - 1024;

/** The service is not running (or not listening where the config says). */
export class ServiceNotRunningError extends Error {
  override readonly name = "ServiceNotRunningError";
}

export function sendControlRequest(
  path: string,
  request: ControlRequest,
  options: {
    /**
     * Gives up when nothing came for this long (default ANSWER_TIMEOUT_MS). Any byte counts: the
     * service's keepalive spaces while a slow revoke runs, or a piece of the answer.
     */
    idleTimeoutMs?: number;
    /**
     * Gives up, and closes the connection, once the answer grows past this many characters
     * (default MAX_ANSWER_CHARS).
     */
    maxAnswerChars?: number;
  } = {},
): Promise<ControlResponse> {
  const idleTimeoutMs = options.idleTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const maxAnswerChars = options.maxAnswerChars ?? MAX_ANSWER_CHARS;
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const chunks: string[] = [];
    let size = 0;
    const giveUp = () => {
      socket.destroy();
      reject(new Error(`Nothing more came on ${path} for ${idleTimeoutMs / 1000} s`));
    };
    let timer = setTimeout(giveUp, idleTimeoutMs);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(encodeRequest(request)));
    socket.on("data", (chunk: string) => {
      clearTimeout(timer);
      timer = setTimeout(giveUp, idleTimeoutMs);
      size += chunk.length;
      if (size > maxAnswerChars) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`Answer on ${path} is too large (over ${maxAnswerChars} characters)`));
        return;
      }
      chunks.push(chunk);
    });
    socket.once("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(chunks.join("")) as ControlResponse);
      } catch {
        reject(new Error(`Unreadable answer on ${path}`));
      }
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        reject(
          new ServiceNotRunningError(
            `The service is not running: nothing listens on ${path} (or it uses another ` +
              "[control] socket: check --config)",
          ),
        );
      } else if (error.code === "EACCES") {
        reject(new Error(`No permission to use ${path}: run as root or in the service's group`));
      } else {
        reject(new Error(`Cannot reach ${path}: ${error.message}`));
      }
    });
  });
}
