/**
 * Captures the bridge's log records in memory for assertions on what gets logged, masked as the
 * real sink masks them (log_mask.ts), so that a test sees what an operator would: a property
 * named like a credential reads `***`. Call the returned `stop()` (in `finally`) to restore the
 * default (no) logging.
 */
import { configureSync, type LogRecord, resetSync } from "@logtape/logtape";
import { maskRecord } from "../../src/log_mask.ts";

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
      memory: (logged: LogRecord) => {
        const record = maskRecord(logged, true);
        lines.push({
          category: record.category.slice(1).join("."),
          level: record.level,
          text: record.message.map((part) => String(part)).join(""),
          properties: record.properties,
        });
      },
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
