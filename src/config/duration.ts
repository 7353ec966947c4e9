/**
 * Durations in config are strings like `"90s"`, `"3m"`, `"12h"` or `"1h30m"`; a bare number
 * would be ambiguous (seconds? milliseconds?), so it is refused.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** Parses a duration to milliseconds; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit!] ?? Number.NaN);
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Formats milliseconds back to the shortest duration string (for printing the config). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"]) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** Inclusive bounds of a duration in milliseconds; an absent one is no bound. */
export interface DurationLimits {
  min?: number;
  max?: number;
}

/**
 * "a duration from 10s to 7d": the one wording of a duration's bounds, so that the schema's
 * check and the modules' own checks of the same limits read alike.
 */
export function durationRangeText({ min, max }: DurationLimits): string {
  const bound = (limit: number | undefined) => limit === undefined ? "any" : formatDuration(limit);
  return `a duration from ${bound(min)} to ${bound(max)}`;
}

/**
 * Why `ms` is outside `limits`, in the schema's wording, if it is: for a module that checks a
 * value again when it is handed one built without the config schema.
 */
export function durationLimitsProblem(
  ms: number,
  limits: Required<DurationLimits>,
): string | undefined {
  return ms >= limits.min && ms <= limits.max
    ? undefined
    : `Expected ${durationRangeText(limits)}, got ${ms} ms`;
}
