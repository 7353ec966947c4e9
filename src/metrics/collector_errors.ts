/**
 * Scrape-time collectors that fail, counted and told. While the session store is down every
 * scrape fails to count its sessions: each failure is counted in
 * `metrics_collector_errors_total{collector}`, but the log has one warning when the outage
 * begins and one line when it ends, not one a scrape. An outage that begins within a minute of
 * the last warning (a store that flaps) is told at debug level, so that it cannot fill the log
 * either.
 */
import { getLogger } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import type { CollectorOutcomes, CounterChild, CounterFamily } from "./exposition.ts";
import { errorText } from "../error_text.ts";

const log = getLogger("metrics");

interface CollectorState {
  errors: CounterChild;
  warning: WarningInterval;
  /** Failed scrapes in a row: more than 0 during an outage. */
  failures: number;
  /** Whether this outage's beginning was warned about (then its end is told at info too). */
  warned: boolean;
}

export class CollectorErrors implements CollectorOutcomes {
  readonly #family: CounterFamily;
  readonly #now: () => number;
  readonly #collectors = new Map<string, CollectorState>();

  /** `family` has the one label `collector`. */
  constructor(family: CounterFamily, now: () => number) {
    this.#family = family;
    this.#now = now;
  }

  added(name: string): void {
    this.#collectors.set(name, {
      errors: this.#family.labels(name),
      warning: new WarningInterval(WARNING_INTERVAL_MS, this.#now),
      failures: 0,
      warned: false,
    });
  }

  worked(name: string): void {
    const state = this.#collectors.get(name)!;
    if (state.failures === 0) return;
    const message = "Metrics collector {collector} works again after {failures} failed scrapes";
    const fields = { collector: name, failures: state.failures };
    if (state.warned) log.info(message, fields);
    else log.debug(message, fields);
    state.failures = 0;
  }

  failed(name: string, error: unknown): void {
    const state = this.#collectors.get(name)!;
    state.errors.inc();
    if (state.failures++ > 0) return;
    const message =
      "Metrics collector {collector} failed ({error}); its samples are left out until it works again";
    const fields = {
      collector: name,
      error: errorText(error),
    };
    state.warned = state.warning.due() !== undefined;
    if (state.warned) log.warning(message, fields);
    else log.debug(message, fields);
  }
}
