/**
 * Where the control socket may live. A unix socket path must fit `sockaddr_un` (108 bytes with
 * its NUL), and an absolute path keeps the admin command and the service agreeing on it.
 */

/** `sun_path` is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Why `path` cannot be the control socket, or undefined when it can (empty: disabled). */
export function controlSocketProblem(path: string): string | undefined {
  if (path === "") return undefined;
  if (!path.startsWith("/")) return `Expected an absolute path, got "${path}"`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "Must not contain control characters";
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return `A unix socket path holds at most ${MAX_SOCKET_PATH_BYTES} bytes, got ${bytes}`;
  }
  return undefined;
}
