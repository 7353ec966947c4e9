/**
 * The V8 flags the service runs with on Deno. They cannot be set from inside the program: V8
 * takes its flags before the first line runs and ignores node:v8 `setFlagsFromString` for these
 * afterwards. So every way of starting the service on Deno passes them: `make build` bakes them
 * into the `deno compile` binary, `make run` and `deno task start` give them to `deno run`, and
 * the benchmarks start the bridge with them (tests/unit/deno_v8_flags_test.ts holds the
 * Makefile and the task to this list). Bun (the released binary) runs JavaScriptCore and takes
 * none of them.
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated and, when most of
 * a site's objects outlive a young-generation collection, allocates that site's objects in
 * the old generation from then on, for good. A REAUTH storm on the Redis store keeps thousands
 * of the Redis client's commands in flight, so V8 learned to create every later command old.
 * An old object keeps what it points to through every young collection until the next full
 * one, however soon it dies: each paced REAUTH's reply, promise and strings were copied to the
 * old generation, 40-43 MB per 10,000 REAUTHs with young collections of up to 20-28 ms,
 * against 7 MB and 6-10 ms without the flag (bench/README.md, the session of 2026-12-02
 * 23:43 UTC). The memory and file stores were not affected either way.
 */
export const DENO_V8_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring"];

/** The flags as one `deno run` / `deno compile` argument. */
export const DENO_V8_FLAGS_ARGUMENT = `--v8-flags=${DENO_V8_FLAGS.join(",")}`;
