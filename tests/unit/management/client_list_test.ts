/**
 * clientListFromStatus() on `status 3` replies: rows recorded from OpenVPN 2.6.14 while no
 * bridge was connected (a client admitted before, with its address, and one whose CONNECT
 * OpenVPN dropped, with none), an IPv6-only client, and an older layout without the address
 * columns, where no row can be told unaddressed.
 */
import { assertEquals } from "../../support/assert.ts";
import { clientListFromStatus } from "../../../src/management/client_list.ts";

const HEADER =
  "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher";

Deno.test("clientListFromStatus() tells clients with no virtual address, with OpenVPN's time", () => {
  const list = clientListFromStatus([
    "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]",
    "TIME\t2026-12-05 17:10:21\t1796490621",
    HEADER,
    "CLIENT_LIST\tu2\t10.77.0.2:47959\t\t\t2773\t2268\t2026-12-05 17:10:00\t1796490600\tUNDEF\t325\t64\tBF-CBC",
    "CLIENT_LIST\tu11\t10.77.0.2:39564\t10.78.0.109\t\t8387\t8225\t2026-12-05 17:06:55\t1796490415\tUNDEF\t173\t166\tAES-256-GCM",
    "CLIENT_LIST\tv6\t[2001:db8::7]:1194\t\t2001:db8:78::9\t1\t1\t2026-12-05 17:06:55\t1796490415\tUNDEF\t174\t167\tAES-256-GCM",
    "GLOBAL_STATS\tMax bcast/mcast queue length\t0",
    "END",
  ]);
  assertEquals(list, {
    time: 1796490621,
    rows: [
      { cid: 325, unaddressed: true, connectedSince: 1796490600 },
      { cid: 173, unaddressed: false, connectedSince: 1796490415 },
      { cid: 174, unaddressed: false, connectedSince: 1796490415 },
    ],
  });
});

Deno.test("clientListFromStatus() calls no row unaddressed without the address columns", () => {
  const lines = ["HEADER\tCLIENT_LIST\tCommon Name\tClient ID", "CLIENT_LIST\tclient-1\t1"];
  assertEquals(clientListFromStatus(lines), {
    time: undefined,
    rows: [{ cid: 1, unaddressed: false, connectedSince: undefined }],
  });
  assertEquals(clientListFromStatus(["TITLE\tx", "END"]), undefined);
});
