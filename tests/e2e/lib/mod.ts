/** The end-to-end lab in one import. */

export * from "./browser.ts";
export * from "./cleanup.ts";
export * from "./client_management.ts";
export * from "./command.ts";
export * from "./lab.ts";
export * from "./management_connection.ts";
export * from "./netns.ts";
export * from "./openvpn_client.ts";
export * from "./openvpn_log.ts";
export * from "./openvpn_server.ts";
export * from "./ping.ts";
export * from "./pki.ts";
export * from "./server_commands.ts";
export * from "./wait.ts";
