/**
 * Captures the bridge's log records in memory for assertions on what gets logged. Call the
 * returned `stop()` (in `finally`) to restore the default (no) logging.
 */
import { configureSync, type LogRecord, resetSync } from "@logtape/logtape";

export interface CapturedLine {
  /** The logger's category below the root, e.g. `clients` or `audit`. */
  category: string;
  level: string;
  text: string;
  properties: Record<string, unknown>;
}

export function captureLogs(): { lines: CapturedLine[]; stop: () => void } {
  const lines: CapturedLine[] = [];
  configureSync({
    reset: true,
    sinks: {
      memory: (record: LogRecord) =>
        lines.push({
          category: record.category.slice(1).join("."),
          level: record.level,
          text: record.message.map((part) => String(part)).join(""),
          properties: record.properties,
        }),
    },
    loggers: [
      { category: ["openvpn-auth-oidc"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  return { lines, stop: () => resetSync() };
}

/** The log lines `work` produced. */
export async function logsOf(work: () => Promise<unknown>): Promise<CapturedLine[]> {
  const capture = captureLogs();
  try {
    await work();
  } finally {
    capture.stop();
  }
  return capture.lines;
}
