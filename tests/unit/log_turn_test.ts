import { assertEquals } from "../support/assert.ts";
import { setImmediate } from "node:timers";
import { nextTurn } from "../../src/next_turn.ts";
import { AUDIT_CATEGORY, configureLogging, getLogger, redirectLogOutput } from "../../src/log.ts";

/** Runs `body` with logging at debug and every write of log lines kept in `all`, as written. */
async function capturingStderr<T>(body: (all: string[]) => Promise<T>): Promise<T> {
  const all: string[] = [];
  redirectLogOutput((text) => all.push(text));
  try {
    configureLogging("debug", "text");
    return await body(all);
  } finally {
    redirectLogOutput();
    configureLogging("warning", "text");
  }
}

/** Every write to stderr while `body` and the turn after it run, as written. */
function writes(body: () => void): Promise<{ during: string[]; after: string[] }> {
  return capturingStderr(async (all) => {
    body();
    const during = [...all];
    await nextTurn();
    return { during, after: all.slice(during.length) };
  });
}

Deno.test("info and debug lines of one turn go out in one write when the turn ends", async () => {
  const { during, after } = await writes(() => {
    const log = getLogger("test");
    for (let i = 0; i < 5; i++) log.info("line {i}", { i });
    log.debug("and a debug line");
  });
  assertEquals(during, []);
  assertEquals(after.length, 1);
  const lines = after[0]!.split("\n").filter((line) => line !== "");
  assertEquals(lines.length, 6);
  lines.slice(0, 5).forEach((line, i) => assertEquals(line.endsWith(`line ${i}`), true, line));
});

Deno.test("a warning or an error goes out at once, after the lines waiting, in order", async () => {
  for (const level of ["warning", "error", "fatal"] as const) {
    const { during, after } = await writes(() => {
      getLogger("test").info("first");
      getLogger("test")[level]("second");
    });
    assertEquals(after, []);
    const lines = during.join("").split("\n").filter((line) => line !== "");
    assertEquals(lines.length, 2, level);
    assertEquals(lines[0]!.endsWith("first"), true, lines[0]);
    assertEquals(lines[1]!.endsWith("second"), true, lines[1]);
  }
});

Deno.test("audit lines go out in one write once the running microtasks are done, before the next task", async () => {
  await capturingStderr(async (all) => {
    // Queued before the lines: the first thing to run after the microtasks.
    const atNextTask = new Promise<string[]>((resolve) => setImmediate(() => resolve([...all])));
    const audit = getLogger(...AUDIT_CATEGORY.slice(1));
    getLogger("test").info("first");
    // As the SUCCESS replies read in one chunk resolve together: each continuation logs.
    const replies = ["alice", "bob"].map((user) => ({ user, ...Promise.withResolvers<void>() }));
    for (const { user, promise } of replies) {
      promise.then(() => audit.info("Login of {user} accepted", { user }));
    }
    for (const reply of replies) reply.resolve();
    const during = [...all];
    const atTask = await atNextTask;
    assertEquals(during, []);
    assertEquals(atTask.length, 1, atTask.join(""));
    const lines = atTask[0]!.split("\n").filter((line) => line !== "");
    assertEquals(lines.length, 3, atTask[0]);
    assertEquals(lines[0]!.endsWith("first"), true, lines[0]);
    assertEquals(lines[1]!.includes("alice"), true, lines[1]);
    assertEquals(lines[2]!.includes("bob"), true, lines[2]);
  });
});

Deno.test("a turn that logs more than the buffer holds writes it in parts and loses nothing", async () => {
  const count = 2_000;
  const { during, after } = await writes(() => {
    for (let i = 0; i < count; i++) {
      getLogger("test").info("line {i} {pad}", { i, pad: "x".repeat(60) });
    }
  });
  // Written in parts during the turn, the rest after it.
  assertEquals(during.length > 1, true, `${during.length} writes during the turn`);
  for (const chunk of [...during, ...after]) assertEquals(chunk.endsWith("\n"), true);
  const lines = [...during, ...after].join("").split("\n").filter((line) => line !== "");
  assertEquals(lines.length, count);
  lines.forEach((line, i) => assertEquals(line.includes(`line ${i} `), true, line));
});

// Both runtimes: Deno runs no `exit` listener on an uncaught error, Bun does.
for (const runtime of ["deno", "bun"] as const) {
  for (const how of ["exit", "throw", "reject"] as const) {
    Deno.test(`a line waiting for its turn's end is written when the process ends (${runtime}, ${how})`, async () => {
      const script = new URL("../support/log_exit_child.ts", import.meta.url).pathname;
      const child = runtime === "deno"
        ? new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", script, how],
          stdout: "null",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        })
        : new Deno.Command(Deno.env.get("BUN") ?? "bun", {
          args: [script, how],
          stdout: "null",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        });
      const { code, stderr } = await child.output();
      const text = new TextDecoder().decode(stderr);
      const logged = text.split("\n").some((line) =>
        line.includes("[INF]") && line.includes("last words") && line.includes("m-4711")
      );
      assertEquals(logged, true, text);
      // Flushing changes nothing about how the process ends.
      assertEquals(code, how === "exit" ? 3 : 1, text);
    });
  }
}

// Bun's process.stderr.write to a pipe hands the kernel what fits and keeps the rest in memory,
// which process.exit drops: the last lines of a busy service (audit lines, its stop) were lost
// when journald read late. Deno's write waits for the reader.
for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`300 KB of log lines, then process.exit, all reach a reader that starts late (${runtime})`, async () => {
    const script = new URL("../support/log_exit_child.ts", import.meta.url).pathname;
    const child = (runtime === "deno"
      ? new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, "flood"],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      })
      : new Deno.Command(Deno.env.get("BUN") ?? "bun", {
        args: [script, "flood"],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      })).spawn();
    // The child fills the pipe and must wait, as for a busy journald.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const text = new TextDecoder().decode((await child.output()).stderr);
    const lines = text.split("\n");
    assertEquals(lines.filter((line) => line.includes("flood ")).length, 3_000);
    assertEquals(
      lines.some((line) => line.includes("last words") && line.includes("m-4711")),
      true,
    );
    assertEquals((await child.status).code, 3);
  });
}
