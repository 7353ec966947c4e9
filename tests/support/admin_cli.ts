/**
 * The admin commands driven in process (runCli): a config whose [control] socket leads nowhere,
 * a control transport that records each request and gives a fixed answer, and what was printed.
 */
import type { CliIo } from "../../src/cli.ts";
import type { ControlRequest, ControlResponse, SessionRow } from "../../src/control/protocol.ts";
import { MINIMAL_TOML } from "./config_toml.ts";

export const ADMIN_SOCKET = "/tmp/admin-cli-test-nowhere/control.sock";

/** A whole valid config with the control socket at ADMIN_SOCKET. */
export const ADMIN_CONFIG = `${MINIMAL_TOML}
[control]
socket = "${ADMIN_SOCKET}"
`;

export const SESSION: SessionRow = {
  sessionId: "s-1",
  username: "alice",
  subject: "u-1",
  server: "default",
  cid: 4,
  commonName: "alice-laptop",
  clientIp: "198.51.100.7",
  createdAt: "2026-11-30T10:00:00.000Z",
  lastAuthAt: "2026-11-30T11:00:00.000Z",
  expiresAt: "2026-11-30T22:00:00.000Z",
};

/**
 * `files`: the config files there are (default: ADMIN_CONFIG at the default path and at
 * /x.toml); `answer`: what the service answers every request (an Error: the transport fails).
 */
export function adminCli(
  answer: ControlResponse | Error = { ok: true, sessions: [SESSION] },
  files: Record<string, string> = {
    "/etc/openvpn-auth-oidc/server.toml": ADMIN_CONFIG,
    "/x.toml": ADMIN_CONFIG,
  },
) {
  const out: string[] = [];
  const err: string[] = [];
  const sent: Array<[string, ControlRequest]> = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    readTextFile: (path) => {
      if (Object.hasOwn(files, path)) return files[path]!;
      throw new Error(`No such file: ${path}`);
    },
    env: {},
    startService: () => Promise.reject(new Error("not expected")),
    onShutdownSignal: () => {},
    sendControl: (path, request) => {
      sent.push([path, request]);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
  return { io, sent, out: () => out.join(""), err: () => err.join("") };
}
