import { assertEquals } from "../../support/assert.ts";
import {
  clientAddress,
  establishedDetails,
  leftDetails,
} from "../../../src/bridge/tunnel_details.ts";

const env = (values: Record<string, string>) => new Map(Object.entries(values));

Deno.test("establishedDetails() takes the client's port and VPN addresses from the ENV", () => {
  assertEquals(
    establishedDetails(env({
      untrusted_port: "50123",
      ifconfig_pool_remote_ip: "10.8.0.23",
      ifconfig_pool_remote_ip6: "fd00::23",
    })),
    { clientPort: 50123, virtualIp: "10.8.0.23", virtualIp6: "fd00::23" },
  );
});

Deno.test("establishedDetails() leaves out what OpenVPN did not send, and a port that is none", () => {
  for (const port of [undefined, "", "-1", "65536", "1e3", " 80", "0x50"]) {
    const details = establishedDetails(env(port === undefined ? {} : { untrusted_port: port }));
    assertEquals(details, { clientPort: undefined, virtualIp: undefined, virtualIp6: undefined });
  }
});

Deno.test("clientAddress() is the IPv4 address, else the IPv6 one, else empty", () => {
  assertEquals(
    clientAddress(env({ untrusted_ip: "192.0.2.1", untrusted_ip6: "2001:db8::1" })),
    "192.0.2.1",
  );
  assertEquals(clientAddress(env({ untrusted_ip6: "2001:db8::1" })), "2001:db8::1");
  assertEquals(clientAddress(env({})), "");
});

Deno.test("leftDetails() takes the duration and the bytes both ways, and leaves out what is no count", () => {
  assertEquals(
    leftDetails(env({ time_duration: "60", bytes_received: "2666", bytes_sent: "2697" })),
    { durationSec: 60, bytesReceived: 2666, bytesSent: 2697 },
  );
  assertEquals(
    leftDetails(env({ time_duration: "-1", bytes_received: "1234567890123456", bytes_sent: "" })),
    { durationSec: undefined, bytesReceived: undefined, bytesSent: undefined },
  );
  // No time_duration at all (an empty ENV: a client in its sign-in, or refused): no tunnel.
  assertEquals(leftDetails(env({ bytes_received: "1", bytes_sent: "2" })), undefined);
});
