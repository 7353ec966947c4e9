/**
 * `>CLIENT:` blocks shaped like the ones a 2.6 server sends (tests/fixtures/transcripts): 55 ENV
 * lines for a certificate-only client, with per-client common name, address and session id.
 */

export type BlockKind = "CONNECT" | "REAUTH" | "DISCONNECT";

/** OpenVPN's session_id is 16 base64 characters; ours encode the client number. */
export function benchSessionId(client: number): string {
  return `bs${client.toString(36).padStart(14, "0")}`;
}

export function benchCommonName(client: number): string {
  return `user${client}`;
}

export function benchClientIp(client: number): string {
  return `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client & 255}`;
}

/**
 * The text of one block (lines ended with `\r\n`), ready to write. `sessionState`
 * "Authenticated": the client presents the auth token OpenVPN gave it (a reconnect), which the
 * bridge answers from the stored session of `client`.
 */
export function clientBlock(
  kind: BlockKind,
  cid: number,
  kid: number,
  client = cid,
  sessionState = "Initial",
): string {
  const cn = benchCommonName(client);
  const port = 1024 + (client % 60000);
  const ip = benchClientIp(client);
  const env: Array<[string, string]> = [
    ["n_clients", "1"],
    ["password", ""],
    ["session_id", benchSessionId(client)],
    ["session_state", sessionState],
    ["untrusted_port", String(port)],
    ["untrusted_ip", ip],
    ["common_name", cn],
    ["username", ""],
    ["IV_GUI_VER", "OpenVPN_GUI_11.51"],
    ["IV_SSO", "openurl,webauth,crtext"],
    ["IV_COMP_STUBv2", "1"],
    ["IV_COMP_STUB", "1"],
    ["IV_LZO_STUB", "1"],
    ["IV_PROTO", "990"],
    ["IV_CIPHERS", "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305"],
    ["IV_NCP", "2"],
    ["IV_MTU", "1600"],
    ["IV_TCPNL", "1"],
    ["IV_PLAT", "win"],
    ["IV_VER", "2.6.14"],
    ["tls_serial_hex_0", "2c:3e:08:dc:20:59:af:1e:15:ee:70:86:73:e7:3d:22:a5:90:d5:83"],
    ["tls_serial_0", "252579011921966976480308543088318383061745063299"],
    [
      "tls_digest_sha256_0",
      "7a:08:9c:90:e2:7f:10:be:87:e2:b7:3f:c7:c3:a2:a5:fc:fd:88:d9:9e:a2:80:43:1e:28:ed:d4:a5:fa:04:b1",
    ],
    ["tls_digest_0", "10:bc:e2:25:82:54:bf:07:72:33:dc:7c:21:9a:f4:76:9f:64:95:96"],
    ["tls_id_0", `CN=${cn}`],
    ["X509_0_CN", cn],
    ["tls_serial_hex_1", "2e:51:44:ad:7d:7e:38:57:47:f5:5c:6d:49:d1:12:ee:29:86:df:33"],
    ["tls_serial_1", "264425918490079307215663035773328382568228642611"],
    [
      "tls_digest_sha256_1",
      "1a:5c:a0:07:9d:41:81:66:dc:c0:ac:db:ac:78:a6:09:ba:c0:d6:45:66:9b:5e:0b:c3:ee:30:47:4b:a0:f9:05",
    ],
    ["tls_digest_1", "e1:fc:1b:11:b9:3f:7f:10:63:de:fe:7b:bc:f6:94:de:bc:ab:2e:fe"],
    ["tls_id_1", "CN=Bench-CA"],
    ["X509_1_CN", "Bench-CA"],
    ["ifconfig_pool_netmask", "255.255.0.0"],
    ["ifconfig_pool_remote_ip", `10.201.${(client >> 8) & 255}.${client & 255}`],
    ["time_unix", "1795879055"],
    ["time_ascii", "2026-11-28 15:17:35"],
    ["trusted_port", String(port)],
    ["trusted_ip", ip],
    ["remote_port_1", "1194"],
    ["local_port_1", "1194"],
    ["local_1", "10.200.0.1"],
    ["proto_1", "udp4"],
    ["daemon_pid", "21773"],
    ["daemon_start_time", "1795879054"],
    ["daemon_log_redirect", "1"],
    ["daemon", "0"],
    ["verb", "3"],
    ["config", "/etc/openvpn/server/server.conf"],
    ["ifconfig_local", "10.201.0.1"],
    ["ifconfig_netmask", "255.255.0.0"],
    ["script_context", "init"],
    ["tun_mtu", "1500"],
    ["dev", "tun0"],
    ["dev_type", "tun"],
    ["redirect_gateway", "0"],
  ];
  // A DISCONNECT has no key id and opens with the connection's duration and traffic (2.6).
  let text = kind === "DISCONNECT"
    ? `>CLIENT:DISCONNECT,${cid}\r\n>CLIENT:ENV,time_duration=3600\r\n` +
      `>CLIENT:ENV,bytes_sent=17108\r\n>CLIENT:ENV,bytes_received=17677\r\n`
    : `>CLIENT:${kind},${cid},${kid}\r\n`;
  for (const [name, value] of env) text += `>CLIENT:ENV,${name}=${value}\r\n`;
  return text + ">CLIENT:ENV,END\r\n";
}
