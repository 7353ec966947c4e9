/** Pinging across the lab from inside a namespace. */

import { run } from "./command.ts";

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly lossPercent: number;
  readonly allReplied: boolean;
  /** ping's own output, for failure messages. */
  readonly output: string;
}

/** Sends `count` pings (0.2 s apart, 1 s reply timeout) from namespace `fromNs` to `toIp`. */
export async function pingThroughTunnel(
  fromNs: string,
  toIp: string,
  count = 3,
): Promise<PingResult> {
  const { stdout, stderr } = await run(
    "ip",
    ["netns", "exec", fromNs, "ping", "-n", "-c", String(count), "-i", "0.2", "-W", "1", toIp],
    { allowFailure: true },
  );
  return parsePingOutput(stdout + stderr);
}

/** Reads the summary line of iputils ping ("3 packets transmitted, 2 received, ..."). */
export function parsePingOutput(output: string): PingResult {
  const match = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const sent = Number(match?.[1] ?? 0);
  const received = Number(match?.[2] ?? 0);
  return {
    sent,
    received,
    lossPercent: sent === 0 ? 100 : Math.round(((sent - received) / sent) * 100),
    allReplied: sent > 0 && received === sent,
    output,
  };
}
