import { assertEquals } from "../../support/assert.ts";
import {
  versionPredatesBrowserSignIn,
  versionPresentsIssuedToken,
} from "../../../src/bridge/client_version.ts";

Deno.test("versionPresentsIssuedToken() is true from 2.5.3 on (auth-token-user), for OpenVPN 3 and git builds", () => {
  const cases: Array<[string, boolean]> = [
    ["2.5.2", false],
    ["2.5.0", false],
    ["2.5_rc1", false],
    ["v2.5.2", false],
    ["2.4.12", false],
    ["2.4", false],
    ["", false],
    ["Verified_by_IT", false],
    ["version_3", false],
    ["2.5.3", true],
    ["2.5.11", true],
    ["v2.5.8", true],
    ["2.6.14", true],
    ["2.6", true],
    ["2.7_master", true],
    ["3.git::58b92569", true],
    ["v3.10.1", true],
    ["3.12_git:master", true],
    ["3.git:HEAD:f3d0b1d6", true],
  ];
  assertEquals(
    cases.map(([ivVer]) => [ivVer, versionPresentsIssuedToken(ivVer)]),
    cases,
  );
});

Deno.test("versionPredatesBrowserSignIn() is true before 2.5 (no IV_SSO), false for 2.5 on and for an unknown or missing IV_VER", () => {
  const cases: Array<[string, boolean]> = [
    ["2.4.12", true],
    ["2.4", true],
    ["2.3.18", true],
    ["1.6", true],
    ["2.5.0", false],
    ["2.5_rc1", false],
    ["2.5.11", false],
    ["2.6.14", false],
    ["3.git::58b92569", false],
    ["", false],
    ["Verified_by_IT", false],
  ];
  assertEquals(
    cases.map(([ivVer]) => [ivVer, versionPredatesBrowserSignIn(ivVer)]),
    cases,
  );
});
