/**
 * The OpenVPN release named by `version`, and the fixes the bridge relies on that it lacks:
 * client-kill that a client cannot evade (2.6.11, CVE-2024-28882) and session_id only from
 * tokens OpenVPN accepted (2.6.21 / 2.7.5, CVE-2026-13122).
 */
import { assertEquals } from "../../support/assert.ts";
import { missingFixes, parseOpenvpnVersion } from "../../../src/management/openvpn_version.ts";

Deno.test("parseOpenvpnVersion() reads the release of 2.6 and 2.7 lines, git builds and pre-releases", () => {
  const cases: Array<[string, ReturnType<typeof parseOpenvpnVersion>]> = [
    [
      "OpenVPN Version: OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]",
      { major: 2, minor: 6, patch: 14 },
    ],
    [
      "OpenVPN Version: OpenVPN 2.7.6 x86_64-pc-linux-gnu [git:release/2.7/0123abcd] [SSL (OpenSSL)] built on Oct  1 2026",
      { major: 2, minor: 7, patch: 6 },
    ],
    ["OpenVPN Version: OpenVPN 2.7_rc6 x86_64-pc-linux-gnu [SSL (OpenSSL)]", {
      major: 2,
      minor: 7,
      patch: undefined,
    }],
    ["OpenVPN Version: OpenVPN 2.6.14", { major: 2, minor: 6, patch: 14 }],
    ["Management Version: 5", undefined],
    ["OpenVPN Version: OpenVPN 2.6.14x", undefined],
    ["OpenVPN Version: something else", undefined],
  ];
  for (const [line, expected] of cases) assertEquals(parseOpenvpnVersion(line), expected, line);
});

Deno.test("missingFixes() names what each release lacks, and nothing from 2.6.21, 2.7.5 and 2.8 on", () => {
  const lacks = (line: string) =>
    missingFixes(parseOpenvpnVersion(`OpenVPN Version: OpenVPN ${line} x86_64-pc-linux-gnu`)!)
      .map((risk) => /CVE-\d+-\d+/.exec(risk)?.[0]);
  assertEquals(lacks("2.6.0"), ["CVE-2024-28882", "CVE-2026-13122"]);
  assertEquals(lacks("2.6.10"), ["CVE-2024-28882", "CVE-2026-13122"]);
  assertEquals(lacks("2.6.11"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.6.14"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.6.20"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.6.21"), []);
  assertEquals(lacks("2.6.22"), []);
  assertEquals(lacks("2.7_rc6"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.7.0"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.7.4"), ["CVE-2026-13122"]);
  assertEquals(lacks("2.7.5"), []);
  assertEquals(lacks("2.8.0"), []);
  assertEquals(lacks("3.0.0"), []);
  assertEquals(lacks("2.5.9"), ["CVE-2024-28882", "CVE-2026-13122"]);
});
