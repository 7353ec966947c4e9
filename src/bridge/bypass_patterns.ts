/**
 * `bypass_common_names`: the certificate names admitted with no sign-in, as regular expressions
 * that must match the whole name. This module compiles them (at load), says which look like a
 * mistake (a warning at load) and applies them (decide, unasked admissions): one reading of a
 * pattern everywhere.
 */

/**
 * `source` as the bridge applies it: anchored at both ends, so `gw-1` admits `gw-1` only, not
 * `gw-10` or `evil-gw-1`. It must be a regular expression on its own: the anchors' group is no
 * fence for an unbalanced `)`: `gw-1)|(.*` compiled as `^(?:gw-1)|(.*)$` would match every
 * name.
 *
 * @throws {SyntaxError} when `source` is no regular expression
 */
export function compileBypassPattern(source: string): RegExp {
  new RegExp(source);
  return new RegExp(`^(?:${source})$`);
}

/**
 * Characters drawn at random, one run per kind of character certificate names are made of. A name
 * cut from them is one nobody chose: a pattern that matches it needs no text of the operator's.
 */
const RANDOM_RUNS = {
  a: "ftjequbujoskoedxnxhaygbkcpeqzifqbymienrsqjylkyedrxhcbaburylbovnz",
  A: "RBAMJUUSKTJIZWXBYFNWJNBUDFWCIOMJUXHWZVQROHGFCJVCWLLEBMRISQINPIIE",
  "9": "8631622912066005872869076924151986676634344959126553481322672577",
} as const;
type RunKind = keyof typeof RANDOM_RUNS;

/**
 * The forms certificate names take: in each, `a`, `A` and `9` are a run of lower-case letters,
 * capitals or digits, `C` one capital, any other character itself. A word, a number, a capital
 * word, a user name with a number (`alice42`, `PC0042`, `laptop-0042`), `first.last`,
 * `first-last`, `first_last`, a person's name, a host name and an e-mail address. A hex identifier
 * (a serial number, a UUID) is a run of digits to any pattern that admits hex.
 */
const NAME_FORMS = [
  "a",
  "A",
  "9",
  "Ca",
  "a9",
  "A9",
  "a-9",
  "a.a",
  "a-a",
  "a_a",
  "Ca Ca",
  "a.a.a",
  "a@a.a",
];
/** Every length up to a common name's longest (64) for a run that is the whole name. */
const LONGEST_LONE_RUN = 64;
/** Every length up to 8 for each run of a name of more than one: 512 names for three runs. */
const LONGEST_RUN_OF_MANY = 8;
/**
 * No shorter names: one of 3 characters or fewer could be a name an operator wrote (`a|b`), and
 * a pattern that admits only such short names admits few.
 */
const SHORTEST_NAME = 4;

/** The names of `form`, one for each choice of its runs' lengths, each run cut from its own place. */
function namesOfForm(form: string): string[] {
  const parts = [...form];
  const runCount = parts.filter((part) => part in RANDOM_RUNS).length;
  const longest = runCount === 1 ? LONGEST_LONE_RUN : LONGEST_RUN_OF_MANY;
  let names = [""];
  parts.forEach((part, place) => {
    const kind = part === "C" ? "A" : part;
    if (!(kind in RANDOM_RUNS)) {
      names = names.map((name) => name + part);
      return;
    }
    const run = RANDOM_RUNS[kind as RunKind].slice(place * LONGEST_RUN_OF_MANY);
    const lengths = part === "C" ? [1] : Array.from({ length: longest }, (_, index) => index + 1);
    names = names.flatMap((name) => lengths.map((length) => name + run.slice(0, length)));
  });
  return names.filter((name) => name.length >= SHORTEST_NAME);
}

/**
 * Names of the kinds certificates carry, unrelated to each other and to any operator's naming: a
 * user name, an e-mail address, a host name, a person's name with a space and an apostrophe, a
 * UUID, a serial number, one character, a name in another script and one of 64 characters (the
 * longest a certificate's common name may be). A pattern that matches every one of them (`.+`,
 * `.*`, `^.*$`, `[^\n]*`) matches whatever name a certificate has.
 */
const UNRELATED_NAMES = [
  "alice",
  "bob.smith@mail.example.org",
  "laptop-0042.corp.example.net",
  "Mallory O'Neil",
  "3f2b9c1e-7d4a-4e8b-9a61-0c5d2e7f8a13",
  "00A1F3",
  "7",
  "Zürich Büro 3",
  "Q".repeat(20) + "z_9.".repeat(11),
];

/**
 * About 1,700 names, shortest first: a pattern is tried on each when the configuration is loaded,
 * not on every client. Made on first use, so that a process that loads no bypass pattern (the
 * CLI's other commands, a configuration without any) does not pay for them at start. Shortest
 * first so that the name a warning quotes is the shortest matched, and so that a name's prefixes
 * (prefixesFirst) are mostly names tried already.
 */
let namesNobodyChose: readonly string[] | undefined;
function randomNames(): readonly string[] {
  return namesNobodyChose ??= [...new Set(NAME_FORMS.flatMap(namesOfForm))]
    .sort((one, other) => one.length - other.length);
}

/**
 * Longest a test of a pattern on one name may take at load. A pattern with nested repetition
 * (`([a-z0-9]+-?)+\.example\.com`) tries every way of splitting a name that it fails on, so its
 * time about doubles with each character: a test that takes this long on a name tried takes about
 * 2^(64 - its length) times as long on a certificate's 64-character name, in the bridge's only
 * thread at that client's CONNECT. Thousands of times what a test of any other pattern takes
 * (microseconds), and a test seen slower is run again (testInTime), so that a busy machine's
 * pauses make no other pattern look slow. Short, as the load or SIGHUP reload waits for the check:
 * a name is tested only after its shorter prefixes were, each in time (prefixesFirst), so the
 * test that stops the check runs a few times this, and the check, with that test run SLOW_RUNS times, ends
 * in 0.1 to 0.3 s whatever the machine's speed, as the budget is time.
 */
const SLOW_TEST_MS = 20;

/** A test of a pattern on a name that took more than SLOW_TEST_MS: the check stops at it. */
class SlowTest {
  constructor(readonly tried: string, readonly milliseconds: number) {}
}

/**
 * Times a test takes before it is the pattern's slowness (testInTime). A pause of the process
 * (another program's turn on the processor, a garbage collection) falls on one run: twice was
 * seen on a loaded machine (seven processes on two cores) for a pattern that takes microseconds,
 * and the load then warned of it. A pattern that backtracks is as slow each time, so a run more
 * costs only a pattern that is warned about anyway.
 */
const SLOW_RUNS = 3;

/**
 * `pattern.test(name)`, timed. One seen slow is run again, up to SLOW_RUNS times in all, and only
 * one slow every time is the pattern's.
 *
 * @throws {SlowTest} when it took more than SLOW_TEST_MS SLOW_RUNS times
 */
function testInTime(pattern: RegExp, name: string): boolean {
  let fastest = Infinity;
  for (let run = 0; run < SLOW_RUNS; run++) {
    const started = performance.now();
    const matched = pattern.test(name);
    const milliseconds = performance.now() - started;
    if (milliseconds <= SLOW_TEST_MS) return matched;
    fastest = Math.min(fastest, milliseconds);
  }
  throw new SlowTest(name, fastest);
}

/**
 * Whether `pattern` matches a name, each name's prefixes tried first, shortest first, each in
 * time (testInTime), and each text once. A test cannot be cut short, so one is only started
 * when every shorter prefix of its name, on which a pattern that backtracks is about half as
 * slow for each character less, ended in time. Names tried shortest first are not enough: a
 * pattern that matches a name at once may fail at its last character and backtrack through all
 * of it (`(\S+\s?)*\w` on a 64-character name ending in `.`). Only whole names decide what the
 * check says; a prefix's test only times the pattern.
 */
function prefixesFirst(pattern: RegExp): (name: string) => boolean {
  const tested = new Map<string, boolean>();
  const testOnce = (text: string): boolean => {
    let matched = tested.get(text);
    if (matched === undefined) tested.set(text, matched = testInTime(pattern, text));
    return matched;
  };
  return (name) => {
    for (let length = 1; length < name.length; length++) testOnce(name.slice(0, length));
    return testOnce(name);
  };
}

/**
 * Why a compiled pattern is likely a mistake, or undefined. A bypass skips the IdP, so a pattern
 * that matches a name of random characters in a form certificate names take (`\w+`, `[a-z]+`,
 * `.+`, `[^@]+`) turns the sign-in off for every client whose certificate name has that form: a
 * user's as well as a gateway's. Such a pattern needs no text the operator chose, and a pattern
 * that does (`vpn-gw-[0-9]+`, `.*\.example\.net`) matches no random name. Where the check stops:
 * names of forms or run lengths not tried (`[a-z]+\d{9}`, three dots), and a pattern that admits
 * every name behind the operator's own text (`.*@example\.org`), which only the operator can
 * judge. One that matches every name tried, of every kind (UNRELATED_NAMES), is said to admit
 * every client with a certificate: true of it, and plainer than naming one random name. One that
 * matches an empty name (`(gw-1)?`, `gw-1|`) admits no client without a certificate
 * (isBypassed), but its optional parts make it wider than it reads. Said, not refused: `.*` on a
 * server where only gateways hold certificates (`verify-client-cert optional`) may be meant. One
 * test that takes more than SLOW_TEST_MS ends the check with that warning instead, whatever the
 * tests before it found: that pattern would stall the bridge, the worse mistake. A test cannot
 * be cut short: the one that shows it runs to its end.
 */
export function bypassPatternWarning(source: string, pattern: RegExp): string | undefined {
  try {
    return wideningWarning(source, prefixesFirst(pattern));
  } catch (error) {
    if (!(error instanceof SlowTest)) throw error;
    const length = error.tried.length;
    return `"${source}" backtracks badly on long names: a certificate name of ${length} ` +
      `character${length === 1 ? "" : "s"} took ${Math.round(error.milliseconds)} ms to check, ` +
      "which would stall the bridge at that client's CONNECT, and each character more about " +
      "doubles it. Rewrite it without nested repetition (a repeated group that holds a " +
      "repetition, such as ([a-z0-9]+-?)+), e.g. ^[a-z0-9.-]+\\.example\\.com$";
  }
}

/**
 * bypassPatternWarning's checks, `matches` trying the pattern on one name. Names nobody chose
 * first; then, of a pattern that matches one, whether it matches every unrelated name too (stopping
 * at the first it misses, "alice"), which decides the wording only: a list of exactly the
 * unrelated names is the operator's text, not a pattern that admits any name.
 */
function wideningWarning(
  source: string,
  matches: (name: string) => boolean,
): string | undefined {
  const randomName = randomNames().find(matches);
  if (randomName !== undefined && UNRELATED_NAMES.every(matches)) {
    return `"${source}" matches almost any name (every one of ${UNRELATED_NAMES.length} ` +
      'unrelated names tried, such as "alice", "00A1F3" and "Mallory O\'Neil"): every client ' +
      "with a certificate connects without signing in. A client without a certificate is never " +
      "let in by a pattern";
  }
  if (randomName !== undefined) {
    return `"${source}" matches names nobody chose, such as "${randomName}" (random characters ` +
      "in a form certificate names take): every client whose certificate name has that form, a " +
      "user's as well as a gateway's, connects without signing in. A client without a " +
      "certificate is never let in by a pattern";
  }
  if (!matches("")) return undefined;
  return `"${source}" matches an empty name, so it may match more names than meant: every ` +
    'client whose certificate name it matches connects without signing in (".*": every ' +
    "client with a certificate). A client without a certificate is never let in by a pattern";
}

/**
 * Whether `commonName`, a certificate's name, is on `bypass_common_names` (admitted with no
 * sign-in and no session). A client without a certificate has no name to bypass: "" is never
 * bypassed, even by a pattern that matches it (`.*`, `(gw-1)?`), or every such client would be.
 */
export function isBypassed(commonName: string, bypassCommonNames: readonly RegExp[]): boolean {
  return commonName !== "" && bypassCommonNames.some((pattern) => pattern.test(commonName));
}
