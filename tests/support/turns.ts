/** Counting the event-loop turns that pass while some work runs. */
import { setImmediate } from "node:timers";

/** Runs `work` while counting the event-loop turns that pass before it resolves. */
export async function turnsDuring<T>(
  work: () => Promise<T>,
): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    running = false;
  }
}
