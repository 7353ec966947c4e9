/**
 * The control socket seen from a client that speaks raw bytes, as an admin's script with socat
 * would: what the service wrote back, and connections that send nothing.
 */
import { createConnection, type Socket } from "node:net";

/**
 * Sends `bytes` and returns everything the service wrote back until it ended the connection.
 * An array is sent a part at a time, 20 ms apart (a request arriving in pieces). `halfClose`:
 * end this side after the bytes, as socat and `nc -N` do.
 */
export function rawControlRequest(
  path: string,
  bytes: string | readonly string[],
  { halfClose = false }: { halfClose?: boolean } = {},
): Promise<string> {
  const parts = typeof bytes === "string" ? [bytes] : bytes;
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.once("connect", async () => {
      for (const [index, part] of parts.entries()) {
        if (socket.destroyed) return;
        if (index > 0) await new Promise((next) => setTimeout(next, 20));
        if (halfClose && index === parts.length - 1) socket.end(part);
        else socket.write(part);
      }
    });
  });
}

/** A connection that sends no request: resolves once connected, with what it was told so far. */
export async function idleControlConnection(
  path: string,
): Promise<{ socket: Socket; answer: () => string; closed: Promise<unknown> }> {
  const socket = createConnection(path);
  let answer = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (answer += chunk));
  const closed = new Promise((resolve) => socket.once("close", resolve));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { socket, answer: () => answer, closed };
}
