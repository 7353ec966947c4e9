/**
 * The commands written to OpenVPN and waiting for their replies, oldest first. OpenVPN answers
 * in the order it was asked, so a reply is nearly always for the oldest command; only one that
 * timed out leaves from elsewhere.
 *
 * A ring of slots rather than a Map. V8 gives a Map a new table each time its last entry goes (at
 * a steady rate, once per command), and the table it left points to the new one. After a storm,
 * that and the session lock's Map (keyed_lock.ts) made V8 copy every later REAUTH's data into the
 * old generation, until the next full collection: 4.5-33 MB per 10,000 paced REAUTHs, scavenges
 * of 4-28 ms; with both changed 0.06-0.54 MB in 15 of 17 runs, 3.0-3.5 MB in two, scavenges of at
 * most 4.8 ms (bench/README.md, the session of 2026-12-02 20:28 UTC). The ring allocates nothing
 * per command, and a slot is cleared when its command is taken.
 */
import type { Reply } from "./events.ts";
import type { ManagementConnectionError } from "./errors.ts";

export interface PendingCommand {
  ticket: number;
  name: string;
  timeoutMs: number;
  /** When the command times out (ms since the epoch). */
  deadline: number;
  resolve(reply: Reply): void;
  reject(error: ManagementConnectionError): void;
}

const INITIAL_SLOTS = 16;
/** Past a storm the ring goes back to its first size once it is empty. */
const SHRINK_ABOVE_SLOTS = 1024;

export class PendingCommands {
  /** A power of two long, so that positions wrap with a mask. */
  #slots: Array<PendingCommand | undefined> = emptySlots(INITIAL_SLOTS);
  #head = 0;
  #count = 0;

  /** Slots held now (for tests: the ring shrinks back after a storm). */
  get capacity(): number {
    return this.#slots.length;
  }

  add(command: PendingCommand): void {
    if (this.#count === this.#slots.length) this.#resize(this.#slots.length * 2);
    this.#slots[(this.#head + this.#count) & (this.#slots.length - 1)] = command;
    this.#count++;
  }

  /** Removes and returns the command with `ticket`; undefined when none waits with it. */
  take(ticket: number): PendingCommand | undefined {
    if (this.#count === 0) return undefined;
    const first = this.#slots[this.#head]!;
    if (first.ticket === ticket) {
      this.#slots[this.#head] = undefined;
      this.#head = (this.#head + 1) & (this.#slots.length - 1);
      this.#count--;
      if (this.#count === 0) this.#settle();
      return first;
    }
    let found: PendingCommand | undefined;
    this.#keep((command) => {
      if (found !== undefined || command.ticket !== ticket) return true;
      found = command;
      return false;
    });
    return found;
  }

  /**
   * Removes and returns the commands whose deadline is at or before `now`, oldest first, with
   * the earliest deadline of those left (Infinity when none is left).
   */
  takeExpired(now: number): { expired: PendingCommand[]; nextDeadline: number } {
    const expired: PendingCommand[] = [];
    let nextDeadline = Infinity;
    this.#keep((command) => {
      if (command.deadline <= now) {
        expired.push(command);
        return false;
      }
      if (command.deadline < nextDeadline) nextDeadline = command.deadline;
      return true;
    });
    return { expired, nextDeadline };
  }

  /** Removes and returns every command, oldest first. */
  takeAll(): PendingCommand[] {
    const all: PendingCommand[] = [];
    this.#keep((command) => {
      all.push(command);
      return false;
    });
    return all;
  }

  /** Keeps the commands `keep` says yes to, in order; clears the slots the others leave. */
  #keep(keep: (command: PendingCommand) => boolean): void {
    const mask = this.#slots.length - 1;
    let kept = 0;
    for (let i = 0; i < this.#count; i++) {
      const command = this.#slots[(this.#head + i) & mask]!;
      if (keep(command)) this.#slots[(this.#head + kept++) & mask] = command;
    }
    for (let i = kept; i < this.#count; i++) this.#slots[(this.#head + i) & mask] = undefined;
    this.#count = kept;
    if (kept === 0) this.#settle();
  }

  /** Empty: back to the first slot, and to the first size after a storm. */
  #settle(): void {
    this.#head = 0;
    if (this.#slots.length > SHRINK_ABOVE_SLOTS) this.#slots = emptySlots(INITIAL_SLOTS);
  }

  #resize(length: number): void {
    const slots = emptySlots(length);
    const mask = this.#slots.length - 1;
    for (let i = 0; i < this.#count; i++) slots[i] = this.#slots[(this.#head + i) & mask];
    this.#slots = slots;
    this.#head = 0;
  }
}

function emptySlots(length: number): Array<PendingCommand | undefined> {
  return new Array<PendingCommand | undefined>(length).fill(undefined);
}
