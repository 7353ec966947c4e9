import { assertEquals } from "../support/assert.ts";
import {
  allocatorRestart,
  PURGE_DELAY_VARIABLE,
  restartWithAllocatorSetting,
} from "../../src/allocator_restart.ts";

const compiled = {
  execPath: "/usr/bin/openvpn-auth-oidc",
  argv: ["bun", "/$bunfs/root/openvpn-auth-oidc", "--config", "/etc/x.toml"],
  execArgv: [],
  env: { PATH: "/usr/bin", UNSET: undefined },
};

Deno.test("the compiled binary starts itself again with the allocator setting, its arguments and environment kept", () => {
  assertEquals(allocatorRestart(compiled, true), {
    file: "/usr/bin/openvpn-auth-oidc",
    args: ["/usr/bin/openvpn-auth-oidc", "--config", "/etc/x.toml"],
    env: { PATH: "/usr/bin", [PURGE_DELAY_VARIABLE]: "-1" },
  });
});

Deno.test("bun running the sources starts the same script again, with its runtime flags", () => {
  const sources = {
    execPath: "/opt/bun",
    argv: ["/opt/bun", "/src/main.ts", "status"],
    execArgv: ["--smol"],
    env: {},
  };
  assertEquals(allocatorRestart(sources, true)?.args, [
    "/opt/bun",
    "--smol",
    "/src/main.ts",
    "status",
  ]);
});

Deno.test("a value already in the environment is kept, even mimalloc's default; Deno is never restarted", () => {
  const set = { ...compiled, env: { [PURGE_DELAY_VARIABLE]: "10" } };
  assertEquals(allocatorRestart(set, true), undefined);
  assertEquals(allocatorRestart(compiled, false), undefined);
});

Deno.test("an execve that fails (the binary gone since start, a foreign binary under an emulator) lets the service run on with one line saying why", () => {
  const restart = allocatorRestart(compiled, true)!;
  const warned: string[] = [];
  let tried: unknown[] = [];
  restartWithAllocatorSetting(
    restart,
    (...call) => {
      tried = call;
      throw Object.assign(new Error("ENOEXEC: exec format error, execve\x1b[2J"), {
        code: "ENOEXEC",
      });
    },
    (line) => warned.push(line),
  );
  assertEquals(tried, [restart.file, restart.args, restart.env]);
  assertEquals(warned, [
    `openvpn-auth-oidc: running without ${PURGE_DELAY_VARIABLE}=-1 (starting again with it ` +
    "failed: ENOEXEC: exec format error, execve\\x1b[2J); set it in the environment to skip " +
    "the restart\n",
  ]);
});
