/**
 * Discovery of the IdP in the background: the service is up (and /readyz says why not ready)
 * while the IdP is down, and a failed discovery is tried again every DISCOVERY_RETRY_MS until one
 * works (sign-ins discover for themselves meanwhile). A failure is warned about at most once a
 * minute, with the count in between (logDue; those in between go to debug): a wrong issuer or an
 * IdP that is down cost 720 lines an hour; once it works after failures, one info line says so.
 */
import type { AuthorizationServer } from "oauth4webapi";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Logger } from "../log.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";

/** How long after a failed discovery the next one is tried. */
export const DISCOVERY_RETRY_MS = 5_000;

/** A failed discovery's line; logDue adds how many were not warned about since the last. */
const FAILED = "OIDC discovery at {issuer} failed, retrying every {seconds} s: {error}";

export interface DiscoveryKeeperDeps {
  oidc: { discover(): Promise<AuthorizationServer> };
  /** oidc.issuer, as the log lines name it. */
  issuer: string;
  clock: Clock;
  log: Logger;
  /** Called with each discovery that worked (the first, and any a later call to this makes). */
  onDiscovered: (as: AuthorizationServer) => void;
}

/** Discovers now and until it works; stop() ends the retries, a discovery under way included. */
export function keepDiscovering(deps: DiscoveryKeeperDeps): { stop(): void } {
  const { clock, log, issuer } = deps;
  const warnings = new WarningInterval(WARNING_INTERVAL_MS, clock.now);
  let timer: TimerHandle | undefined;
  let stopped = false;
  /** Failed discoveries in a row, for the line that says it worked again. */
  let failures = 0;
  const discover = () => {
    deps.oidc.discover().then((as) => {
      if (failures > 0) {
        log.info("OIDC discovery at {issuer} succeeded after {failures} failed attempts", {
          issuer,
          failures,
        });
        failures = 0;
      }
      deps.onDiscovered(as);
    }).catch((error) => {
      // A discovery that was under way when the keeper stopped is tried no more: the timer
      // would keep a process that embeds the bridge (or a test) alive.
      if (stopped) return;
      failures++;
      logDue(warnings, log, "warning", FAILED, {
        issuer,
        seconds: DISCOVERY_RETRY_MS / 1000,
        error: String(error),
      });
      timer = clock.setTimeout(discover, DISCOVERY_RETRY_MS);
    });
  };
  discover();
  return {
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}
