/**
 * Logging: LogTape (small, dependency-free, runs on Deno and Bun) writing one line per record
 * to stderr, as text for people or JSON lines for collectors. Properties whose names look like
 * credentials are masked before formatting, as a second line of defence: code must not log
 * secrets in the first place.
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger as logtapeLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";
import process from "node:process";
import type { LogLevel } from "./config/types.ts";

export type { Logger };

const ROOT = "openvpn-auth-oidc";
/** The audit log's category (src/audit.ts), routed and levelled on its own. */
export const AUDIT_CATEGORY = [ROOT, "audit"];
const SENSITIVE = /pass(word)?|secret|token|cookie|authorization|code_?verifier|^code$|nonce/i;

/** A logger for one part of the program, e.g. `getLogger("management")`. */
export function getLogger(...category: string[]): Logger {
  return logtapeLogger([ROOT, ...category]);
}

export function maskSensitive(properties: Record<string, unknown>): Record<string, unknown> {
  let masked: Record<string, unknown> | undefined;
  for (const key of Object.keys(properties)) {
    if (SENSITIVE.test(key) && properties[key] !== undefined) {
      masked ??= { ...properties };
      masked[key] = "***";
    }
  }
  return masked ?? properties;
}

function stderrSink(format: "text" | "json"): Sink {
  const formatter = format === "json" ? getJsonLinesFormatter() : getTextFormatter();
  return (record: LogRecord) => {
    const safe = { ...record, properties: maskSensitive(record.properties) };
    process.stderr.write(formatter(safe));
  };
}

/** Sets up logging for the process; call once at start-up (tests may call it again). */
export function configureLogging(level: LogLevel, format: "text" | "json"): void {
  resetSync();
  configureSync({
    reset: true,
    sinks: { stderr: stderrSink(format) },
    loggers: [
      { category: [ROOT], lowestLevel: level, sinks: ["stderr"] },
      // Who was let onto the network is recorded whatever the operational log level.
      { category: AUDIT_CATEGORY, lowestLevel: "info", sinks: ["stderr"], parentSinks: "override" },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
