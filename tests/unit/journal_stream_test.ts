import { fstatSync } from "node:fs";
import { assertEquals } from "../support/assert.ts";
import {
  cliStderrLines,
  isJournalStream,
  prefixLines,
  PRIORITY,
  priorityPrefix,
  stderrIsJournal,
} from "../../src/journal_stream.ts";

const STREAM = { dev: 9n, ino: 3412894n };

Deno.test("isJournalStream() is true only for the device and inode of the open stream", () => {
  assertEquals(isJournalStream("9:3412894", STREAM), true);
  // Another stream, as a child of a service sees it when its stderr was sent elsewhere.
  assertEquals(isJournalStream("9:3412895", STREAM), false);
  assertEquals(isJournalStream("15:3412894", STREAM), false);
  assertEquals(isJournalStream(undefined, STREAM), false);
  assertEquals(isJournalStream("9:3412894", undefined), false);
});

Deno.test("isJournalStream() takes only systemd's 'device:inode' in decimal", () => {
  for (const value of ["", "9", "9:", ":3412894", "9:3412894:1", " 9:3412894", "9:3412894\n"]) {
    assertEquals(isJournalStream(value, STREAM), false, JSON.stringify(value));
  }
  for (const value of ["0x9:3412894", "9:3.412894e6", "-9:3412894", "9:99999999999999999999999"]) {
    assertEquals(isJournalStream(value, STREAM), false, value);
  }
  // Beyond 2^53: compared exactly, not as a float.
  const big = { dev: 9n, ino: 2n ** 63n + 1n };
  assertEquals(isJournalStream(`9:${2n ** 63n + 1n}`, big), true);
  assertEquals(isJournalStream(`9:${2n ** 63n}`, big), false);
});

Deno.test("stderrIsJournal() looks at stderr only when JOURNAL_STREAM is set, and is false when it cannot", () => {
  let looked = 0;
  const stat = () => {
    looked++;
    return STREAM;
  };
  assertEquals(stderrIsJournal({}, stat), false);
  assertEquals(looked, 0);
  assertEquals(stderrIsJournal({ JOURNAL_STREAM: "9:3412894" }, stat), true);
  assertEquals(stderrIsJournal({ JOURNAL_STREAM: "9:1" }, stat), false);
  const closed = () => {
    throw Object.assign(new Error("EBADF: bad file descriptor, fstat"), { code: "EBADF" });
  };
  assertEquals(stderrIsJournal({ JOURNAL_STREAM: "9:3412894" }, closed), false);
});

Deno.test("stderrIsJournal() compares with this process's real stderr", () => {
  const { dev, ino } = fstatSync(2, { bigint: true });
  assertEquals(stderrIsJournal({ JOURNAL_STREAM: `${dev}:${ino}` }), true);
  assertEquals(stderrIsJournal({ JOURNAL_STREAM: `${dev}:${ino + 1n}` }), false);
});

Deno.test("priorityPrefix() writes sd-daemon(3)'s prefixes", () => {
  assertEquals(priorityPrefix(PRIORITY.crit), "<2>");
  assertEquals(priorityPrefix(PRIORITY.err), "<3>");
  assertEquals(priorityPrefix(PRIORITY.warning), "<4>");
  assertEquals(priorityPrefix(PRIORITY.notice), "<5>");
  assertEquals(priorityPrefix(PRIORITY.info), "<6>");
  assertEquals(priorityPrefix(PRIORITY.debug), "<7>");
});

Deno.test("prefixLines() prefixes every line and keeps the final line break or its absence", () => {
  assertEquals(prefixLines("a\nb\n", () => PRIORITY.warning), "<4>a\n<4>b\n");
  assertEquals(prefixLines("a\nb", () => PRIORITY.warning), "<4>a\n<4>b");
  assertEquals(prefixLines("", () => PRIORITY.warning), "");
});

Deno.test("cliStderrLines() makes check-config's warnings warnings and every other line an error", () => {
  assertEquals(
    cliStderrLines(
      "warning: /etc/x.toml: http.secret_file: readable by others\n" +
        "Invalid configuration in /etc/x.toml:\n  - http.secret: Missing required key\n",
    ),
    "<4>warning: /etc/x.toml: http.secret_file: readable by others\n" +
      "<3>Invalid configuration in /etc/x.toml:\n<3>  - http.secret: Missing required key\n",
  );
});
