/**
 * Under systemd the service's stderr is journald's stream, and `$JOURNAL_STREAM` names it
 * (`device:inode`): then each line the program writes begins with its sd-daemon(3) priority
 * (`<3>` error, `<4>` warning, `<6>` info), which journald takes as the entry's priority and
 * strips. Without the prefixes every line was info, and `journalctl -p warning` showed nothing.
 * Here the real program (src/main.ts on Deno and on Bun) writes to a pipe that
 * `$JOURNAL_STREAM` names as systemd would name its stream; no journald runs here (systemd is
 * not PID 1), so the test reads what journald would read. With the variable unset, or naming
 * another stream (the program's stdout), no line has a prefix.
 */
import { chmodSync, rmSync } from "node:fs";
import { assert, assertEquals } from "../../support/assert.ts";
import { writeLocalConfig } from "../../support/service_process.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

const MAIN = new URL("../../../src/main.ts", import.meta.url).pathname;

const RUNTIMES = {
  deno: [Deno.execPath(), "run", "--allow-all", MAIN],
  bun: [Deno.env.get("BUN") ?? "bun", MAIN],
} as const;

/**
 * What `$JOURNAL_STREAM` holds for the program: its stderr's `device:inode` (as systemd sets
 * it), its stdout's (a stream other than stderr), or nothing.
 */
type Stream = "stderr" | "stdout" | "unset";

const SET_STREAM: Record<Stream, string> = {
  // In $(...) stderr is still the program's; $$ is this shell, whose stdout is the program's.
  stderr: "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && export JOURNAL_STREAM",
  stdout: "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1) && export JOURNAL_STREAM",
  unset: "unset JOURNAL_STREAM",
};

/** The program on `runtime` with `args`, through a shell that sets `$JOURNAL_STREAM` and execs. */
function spawnProgram(runtime: keyof typeof RUNTIMES, stream: Stream, args: string[]) {
  return new Deno.Command("sh", {
    args: ["-c", `${SET_STREAM[stream]} && exec "$@"`, "sh", ...RUNTIMES[runtime], ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** A config file in a fresh directory; `log` is its `[log]` section's lines. */
function configWith(log: string) {
  return writeLocalConfig("journal-stream-test-", () => ({
    rest: `[sessions]\nbackend = "memory"\n[control]\nsocket = ""\n[log]\n${log}\n`,
  }));
}

const PREFIXED = /^<[0-7]>/;

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`${runtime}: a config error at start is written as errors to the journal, and without a prefix elsewhere`, async () => {
    const { dir, config } = await configWith('level = "info"\nformat = 5');
    try {
      for (const stream of ["stderr", "stdout", "unset"] as const) {
        const output = await spawnProgram(runtime, stream, ["--config", config]).output();
        const lines = new TextDecoder().decode(output.stderr).split("\n").filter(Boolean);
        assertEquals(output.code, 2, `${stream}: ${lines.join("\n")}`);
        assert(lines.some((line) => line.includes("log.format")), lines.join("\n"));
        const prefixes = lines.map((line) => PREFIXED.exec(line)?.[0] ?? "");
        assertEquals(
          prefixes,
          lines.map(() => stream === "stderr" ? "<3>" : ""),
          `JOURNAL_STREAM naming ${stream}:\n${lines.join("\n")}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [stream, format] of [["stderr", "text"], ["stdout", "json"]] as const) {
    Deno.test(`${runtime}: the running service's ${format} log lines carry their priority only when stderr is the journal (JOURNAL_STREAM naming ${stream})`, async () => {
      const { dir, config } = await configWith(`level = "info"\nformat = "${format}"`);
      // Secrets in a file others can read: a warning at start.
      chmodSync(config, 0o644);
      const child = spawnProgram(runtime, stream, ["--config", config]);
      void child.stdout.cancel();
      let stderr = "";
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
      })();
      try {
        await pollUntil(
          "the service's warning about the config file others can read",
          () => stderr.includes("can be read by other users") || undefined,
          30_000,
        );
        // A reload's lines too (the packaged unit files a line without a prefix as an error).
        child.kill("SIGHUP");
        await pollUntil(
          "the service to reload",
          () => stderr.includes("Reloaded the configuration") || undefined,
          30_000,
        );
      } finally {
        child.kill("SIGTERM");
        await child.status;
        await reading;
        rmSync(dir, { recursive: true, force: true });
      }
      const lines = stderr.split("\n").filter(Boolean);
      const serving = lines.find((line) => line.includes("Serving sign-in pages"));
      const warning = lines.find((line) => line.includes("can be read by other users"));
      const reloaded = lines.find((line) => line.includes("Reloaded the configuration"));
      assert(serving !== undefined && warning !== undefined && reloaded !== undefined, stderr);
      if (stream === "stderr") {
        assertEquals(lines.filter((line) => !PREFIXED.test(line)), [], stderr);
        assert(serving.startsWith("<6>"), serving);
        assert(warning.startsWith("<4>"), warning);
        assert(reloaded.startsWith("<6>"), reloaded);
      } else {
        assertEquals(lines.filter((line) => line.startsWith("<")), [], stderr);
        // Each line is JSON as it was, e.g. for a collector reading a file.
        for (const line of lines) JSON.parse(line);
      }
    });
  }

  Deno.test(`${runtime}: check-config --quiet (the packaged unit's ExecReload) writes only prefixed warnings for a valid config and prefixed errors for a refused one, nothing to stdout`, async () => {
    const { dir, config } = await configWith('level = "info"');
    try {
      // Secrets in a file others can read: a warning.
      chmodSync(config, 0o644);
      const checks = [
        { args: ["check-config", "--quiet", "--config", config], code: 0, prefix: "<4>" },
        {
          args: ["check-config", "--quiet", "--config", `${dir}/absent.toml`],
          code: 2,
          prefix: "<3>",
        },
      ];
      for (const { args, code, prefix } of checks) {
        const output = await spawnProgram(runtime, "stderr", args).output();
        const lines = new TextDecoder().decode(output.stderr).split("\n").filter(Boolean);
        assertEquals(output.code, code, lines.join("\n"));
        assertEquals(new TextDecoder().decode(output.stdout), "", args.join(" "));
        assert(lines.length > 0, args.join(" "));
        assertEquals(lines.filter((line) => !line.startsWith(prefix)), [], lines.join("\n"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
