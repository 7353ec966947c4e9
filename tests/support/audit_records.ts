/**
 * The bridge's audit lines as a log pipeline reads them with `log.format = "json"` (README, "Audit
 * log"): the properties of each JSON line under the audit category. Any other line (text, or the
 * part of a line still being written) is not one.
 */
import { AUDIT_CATEGORY } from "../../src/log.ts";

export type AuditRecord = Record<string, unknown>;

const AUDIT_LOGGER = AUDIT_CATEGORY.join(".");

/** The properties of each audit line among `lines`, in order. */
export function auditRecords(lines: readonly string[]): AuditRecord[] {
  return lines.flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      const record = JSON.parse(line);
      return record.logger === AUDIT_LOGGER ? [record.properties as AuditRecord] : [];
    } catch {
      return [];
    }
  });
}
