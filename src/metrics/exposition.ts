/**
 * A small Prometheus registry and text exposition (format 0.0.4). Every metric has a fixed,
 * known set of label values, so children are created up front and counting is a field
 * increment: nothing is allocated or hashed per event. Rendering happens only at scrape time.
 */

/** A Prometheus metric or label name. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values are escaped: backslash, double quote and line feed (the format's rules). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((name, i) => `${name}="${escapeLabelValue(values[i]!)}"`).join(",")}}`;
}

export interface CounterChild {
  inc(by?: number): void;
  readonly value: number;
}

export interface GaugeChild {
  set(value: number): void;
  /** Leaves the sample out until the next `set`: its source could not be read this scrape. */
  clear(): void;
  readonly value: number;
}

export interface HistogramChild {
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

interface Family {
  render(out: string[]): void;
}

/**
 * Label names a family may not use: `le` is the histogram's own; `job` and `instance` are the
 * labels Prometheus gives every series of a target, and it renames a scraped one to
 * `exported_instance`, where no query by that name finds it.
 */
const RESERVED_LABELS: ReadonlySet<string> = new Set(["le", "job", "instance"]);

abstract class LabelledFamily<Child> implements Family {
  readonly name: string;
  readonly #help: string;
  readonly #type: string;
  protected readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { values: string[]; child: Child }>();

  constructor(name: string, help: string, type: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new TypeError(`Invalid metric name: "${name}"`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__") || RESERVED_LABELS.has(label)) {
        throw new TypeError(`Invalid label name for ${name}: "${label}"`);
      }
    }
    this.name = name;
    this.#help = help;
    this.#type = type;
    this.labelNames = labelNames;
  }

  /** The child for these label values; call once and keep it (this lookup allocates). */
  labels(...values: string[]): Child {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(
        `${this.name} takes ${this.labelNames.length} label values, got ${values.length}`,
      );
    }
    const key = values.join("\0");
    let entry = this.children.get(key);
    if (!entry) {
      entry = { values, child: this.newChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected abstract newChild(): Child;
  protected abstract renderChild(out: string[], labels: string, child: Child): void;

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.#help)}`, `# TYPE ${this.name} ${this.#type}`);
    for (const { values, child } of this.children.values()) {
      this.renderChild(out, labelText(this.labelNames, values), child);
    }
  }
}

class Counter implements CounterChild {
  value = 0;
  inc(by = 1): void {
    if (by > 0) this.value += by;
  }
}

class Gauge implements GaugeChild {
  value = 0;
  shown = true;
  set(value: number): void {
    this.value = value;
    this.shown = true;
  }
  clear(): void {
    this.shown = false;
  }
}

class Histogram implements HistogramChild {
  readonly bounds: readonly number[];
  /** Per bucket, not cumulative: observe touches one slot; rendering adds them up. */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.count++;
    this.sum += value;
  }
}

export class CounterFamily extends LabelledFamily<CounterChild> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "counter", labelNames);
  }
  protected newChild(): CounterChild {
    return new Counter();
  }
  protected renderChild(out: string[], labels: string, child: CounterChild): void {
    out.push(`${this.name}${labels} ${formatValue(child.value)}`);
  }
}

export class GaugeFamily extends LabelledFamily<GaugeChild> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "gauge", labelNames);
  }
  protected newChild(): GaugeChild {
    return new Gauge();
  }
  protected renderChild(out: string[], labels: string, child: GaugeChild): void {
    if (!(child as Gauge).shown) return;
    out.push(`${this.name}${labels} ${formatValue(child.value)}`);
  }
}

export class HistogramFamily extends LabelledFamily<HistogramChild> {
  readonly #bounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, "histogram", labelNames);
    const sorted = buckets.every((b, i) => i === 0 || b > buckets[i - 1]!);
    if (buckets.length === 0 || !sorted || !buckets.every(Number.isFinite)) {
      throw new TypeError(`Histogram ${name} needs finite, strictly increasing buckets`);
    }
    this.#bounds = buckets;
  }
  protected newChild(): HistogramChild {
    return new Histogram(this.#bounds);
  }
  protected renderChild(out: string[], labels: string, child: HistogramChild): void {
    const h = child as Histogram;
    const prefix = labels === "" ? "{" : `${labels.slice(0, -1)},`;
    let cumulative = 0;
    h.bounds.forEach((bound, i) => {
      cumulative += h.counts[i]!;
      out.push(`${this.name}_bucket${prefix}le="${formatValue(bound)}"} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${prefix}le="+Inf"} ${h.count}`);
    out.push(`${this.name}_sum${labels} ${formatValue(h.sum)}`);
    out.push(`${this.name}_count${labels} ${h.count}`);
  }
}

/** The content type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Told how each collector did at every scrape (collector_errors.ts counts and logs failures).
 * Collector names are label values: fixed strings, never user data.
 */
export interface CollectorOutcomes {
  added(name: string): void;
  worked(name: string): void;
  failed(name: string, error: unknown): void;
}

interface Collector {
  name: string;
  collect: () => void | Promise<void>;
  /** Left out of a scrape in which `collect` fails, rather than shown with a stale value. */
  gauges: readonly GaugeChild[];
}

/**
 * How long a scrape waits for one collector (Registry). The file store's live count waits less
 * for its worker (live_counter.ts), so that its count on the event loop still makes the scrape.
 */
export const COLLECT_TIMEOUT_MS = 5_000;

/** Metric families in the order they are rendered; `collect` hooks run first at each scrape. */
export class Registry {
  readonly #families: Family[] = [];
  readonly #names = new Set<string>();
  readonly #collectors: Collector[] = [];
  readonly #outcomes: CollectorOutcomes | undefined;
  readonly #collectTimeoutMs: number;

  /**
   * `collectTimeoutMs`: a collector that has not settled by then counts as failed for that
   * scrape, so that one stuck source cannot hold every scrape (Prometheus gives up after 10 s).
   */
  constructor(outcomes?: CollectorOutcomes, collectTimeoutMs = COLLECT_TIMEOUT_MS) {
    this.#outcomes = outcomes;
    this.#collectTimeoutMs = collectTimeoutMs;
  }

  register<F extends Family & { name: string }>(family: F): F {
    if (this.#names.has(family.name)) {
      throw new TypeError(`Metric registered twice: ${family.name}`);
    }
    this.#names.add(family.name);
    this.#families.push(family);
    return family;
  }

  /**
   * Runs before every render: for gauges read at scrape time (counts, process state). When it
   * throws or rejects, `gauges` (the ones it sets) are left out of that scrape and the rest is
   * served all the same: a session store that is down must not take `management_up` with it.
   */
  onCollect(
    name: string,
    collect: () => void | Promise<void>,
    gauges: readonly GaugeChild[] = [],
  ): void {
    if (this.#collectors.some((collector) => collector.name === name)) {
      throw new TypeError(`Collector added twice: ${name}`);
    }
    this.#collectors.push({ name, collect, gauges });
    this.#outcomes?.added(name);
  }

  async render(): Promise<string> {
    // All at once: a store that answers slowly delays the scrape by its timeout once, not once
    // per server. Each collector sets gauges of its own, so none waits for another.
    await Promise.all(this.#collectors.map((collector) => this.#collect(collector)));
    const out: string[] = [];
    for (const family of this.#families) family.render(out);
    return out.join("\n") + "\n";
  }

  async #collect({ name, collect, gauges }: Collector): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        collect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.#collectTimeoutMs} ms`)),
            this.#collectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      for (const gauge of gauges) gauge.clear();
      this.#outcomes?.failed(name, error);
      return;
    } finally {
      clearTimeout(timer);
    }
    this.#outcomes?.worked(name);
  }
}
