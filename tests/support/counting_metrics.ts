import type { Metrics } from "../../src/metrics/port.ts";

/**
 * Metrics that count sign-in outcomes and denials into `counted`, as `login <result>` and
 * `denial <code>` (a server's and the admission's alike), and drop the rest.
 */
export function countingMetrics(counted: string[]): Metrics {
  return {
    server: () => ({
      login: (result) => counted.push(`login ${result}`),
      clientEvent: () => {},
      managementReconnect: () => {},
      denial: (code) => counted.push(`denial ${code}`),
    }),
    denial: (code) => counted.push(`denial ${code}`),
    idpRequest: () => {},
    managementCommand: () => {},
  };
}
