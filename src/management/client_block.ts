/**
 * One `>CLIENT:` block while its ENV lines arrive: checks each line (shape, count) and keeps the
 * text for the event's `BlockEnv`. Lines that follow each other in one chunk are kept as a run
 * (where it starts and ends in the chunk). A block that is one run reads the chunk in place;
 * otherwise each run is added to the text in one slice when it ends.
 */
import { BlockEnv, ENV_PREFIX } from "./block_env.ts";
import type { ProtocolWarningCode } from "./events.ts";
import type { BlockHeader } from "./parse_client_header.ts";

export class OpenClientBlock {
  /** Undefined for a block whose header did not parse: its lines are skipped up to END. */
  readonly header: BlockHeader | undefined;
  /** ENV lines seen (kept or not). */
  lines = 0;
  /** Characters kept (names and values). */
  chars = 0;
  /** Why the block will be dropped at its END (fail closed: never half a block). */
  drop: { code: ProtocolWarningCode; why: string } | undefined;
  readonly #maxLines: number;
  #env = "";
  #runText = "";
  #runStart = 0;
  #runNext = 0;

  constructor(header: BlockHeader | undefined, maxLines: number) {
    this.header = header;
    this.#maxLines = maxLines;
  }

  /**
   * Takes the ENV line `text.slice(start, end)` (not its END); `next`: where the text after its
   * line end starts, or -1 when `text` holds only the line.
   */
  add(text: string, start: number, end: number, next: number): void {
    this.lines++;
    if (this.header === undefined || this.drop !== undefined) return;
    if (this.lines > this.#maxLines) {
      this.dropAtEnd("env-limit", `more than ${this.#maxLines} ENV lines`);
      return;
    }
    const nameAt = start + ENV_PREFIX.length;
    const eq = text.indexOf("=", nameAt);
    if (eq <= nameAt || eq >= end) {
      this.dropAtEnd("malformed-line", "malformed ENV line (no name=value)");
      return;
    }
    this.chars += end - nameAt;
    if (next !== -1 && this.#runText === text && this.#runNext === start) {
      this.#runNext = next;
      return;
    }
    this.#endRun();
    if (next === -1) {
      // Put together from several chunks, its line end already gone: any "\r" left is the
      // value's own, which "\r\n" keeps (a reader takes one "\r" off before "\n").
      this.#env += `${text.slice(start, end)}\r\n`;
      return;
    }
    this.#runText = text;
    this.#runStart = start;
    this.#runNext = next;
  }

  dropAtEnd(code: ProtocolWarningCode, why: string): void {
    this.drop = { code, why };
    this.#env = "";
    this.#runText = "";
    this.chars = 0;
  }

  /** The ENV of the finished block. */
  env(): BlockEnv {
    if (this.#env === "" && this.#runText !== "") {
      return new BlockEnv(this.#runText, this.#runStart, this.#runNext);
    }
    this.#endRun();
    return new BlockEnv(this.#env);
  }

  #endRun(): void {
    if (this.#runText === "") return;
    this.#env += this.#runText.slice(this.#runStart, this.#runNext);
    this.#runText = "";
  }
}
