/**
 * The OpenVPN management protocol as a pure state machine: text in, events and replies out.
 * No sockets, no timers. The socket adapter (`connection.ts`) calls `expect()` for every
 * command it writes and `push()` for every chunk it reads.
 *
 * OpenVPN answers commands strictly in order, so replies are matched to tickets first in,
 * first out; several commands may be in flight at once. One command may go unanswered (2.7's
 * `status`): its ticket checks the first line of its reply, and a line that cannot be one stops
 * all matching (`out-of-step`, for the caller to drop the link). Real-time `>` lines can arrive
 * between (and inside) replies and are always routed as events. A `>CLIENT:` block (header, ENV
 * lines, `>CLIENT:ENV,END`) becomes one event when its END arrives, never a half block.
 *
 * Bad input never throws: it is reported as a `warning` event (without content that may hold
 * secrets) and skipped. Every buffer is bounded by `ProtocolLimits`.
 *
 * @example
 * ```ts
 * const core = new ManagementProtocol();
 * const ticket = core.expect("multi"); // written: "version\n"
 * const { events, replies } = core.push(">INFO:OpenVPN Management Interface Version 5\r\n");
 * ```
 */
import { ENV_PREFIX } from "./block_env.ts";
import { OpenClientBlock } from "./client_block.ts";
import { describeLine } from "./describe_line.ts";
import type {
  ClientBlockEvent,
  ClientEnv,
  ManagementEvent,
  ProtocolWarning,
  ProtocolWarningCode,
  Reply,
  ReplyKind,
} from "./events.ts";
import { type LineSink, LineSplitter } from "./line_splitter.ts";
import { type BlockHeader, parseClientHeader } from "./parse_client_header.ts";
import { malformed, parseRealtime } from "./parse_realtime.ts";

export type * from "./events.ts";

export interface ProtocolLimits {
  /** Longest line kept, in UTF-16 code units without the line end. */
  maxLineChars: number;
  /** Most ENV lines in one `>CLIENT:` block; a longer block is dropped whole. */
  maxEnvLines: number;
  /**
   * Most characters kept of one multi-line reply, each line counted with
   * `REPLY_LINE_OVERHEAD_CHARS` more; later lines are dropped.
   */
  maxReplyChars: number;
}

/**
 * What keeping a reply line costs besides its characters, counted as characters: its array
 * slot and string header take ~36-44 bytes whatever it holds. Counted as 0, an empty line was
 * free, and a peer answering `status` with endless line ends grew one reply without limit
 * (13 million empty lines, 285 MB, reported as 0 chars); short lines took ~8 bytes a counted
 * char. With it, `maxReplyChars` bounds a reply's memory whatever its lines: 64 MiB of
 * two-character lines is ~2 million lines in ~71 MB.
 */
export const REPLY_LINE_OVERHEAD_CHARS = 32;

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxLineChars: 8 * 1024,
  maxEnvLines: 512,
  // `status 3` lists every connected client, one line each: ~110 characters as a real 2.6
  // prints it for a short name, ~200 with a 64-character name and an IPv6 peer, so 64 MiB
  // holds ~290,000 of the longer ones (with REPLY_LINE_OVERHEAD_CHARS each). A list cut here
  // ends no session (server_link.ts).
  maxReplyChars: 64 * 1024 * 1024,
});

export interface PushResult {
  events: ManagementEvent[];
  replies: Reply[];
}

export interface ProtocolStats {
  /**
   * Characters held: the unfinished line, the open ENV block and unfinished replies (each of
   * their lines with `REPLY_LINE_OVERHEAD_CHARS`).
   */
  bufferedChars: number;
  pendingTickets: number;
  openBlockEnvLines: number;
}

/** OpenVPN sends this without a line end and waits for the password line. */
const PASSWORD_PROMPT = "ENTER PASSWORD:";
const ENV_END = `${ENV_PREFIX}END`;
const CR = 13;

/**
 * Whether `line` can begin the reply to `status 3`. OpenVPN's server prints `TITLE\t{version}`
 * first (multi.c `multi_print_status`, 2.6 and 2.7 alike), or `ERROR: The 'status' command is
 * not supported ...` while no server runs, between restarts (manage.c `man_status`); an OpenVPN
 * that is no server (misconfigured) `OpenVPN STATISTICS` (sig.c `print_status`). 2.7 may also
 * print nothing at all (its DCO peer statistics failed, commit 6f9ba8bf): the line that comes
 * then answers a later command.
 */
function beginsStatusReply(line: string): boolean {
  return line.startsWith("TITLE\t") || line === "OpenVPN STATISTICS" ||
    (line.startsWith("ERROR:") && line.includes("'status'"));
}

interface Ticket {
  id: number;
  kind: ReplyKind;
  lines: string[];
  /** Of `lines`, each with REPLY_LINE_OVERHEAD_CHARS: what `maxReplyChars` bounds. */
  chars: number;
  truncated: boolean;
}

export class ManagementProtocol {
  readonly #limits: ProtocolLimits;
  readonly #splitter: LineSplitter;
  #tickets: Ticket[] = [];
  #nextTicket = 1;
  #block: OpenClientBlock | undefined;
  #strayEnvReported = false;
  #promptSeen = false;
  /** A reply could not be matched (`out-of-step`): no later one is, until `reset()`. */
  #outOfStep = false;
  /**
   * Of the last push, how many of its events came before each of its replies (same index). One
   * array for every push, not one each: a REAUTH is a push or two.
   */
  readonly #eventsBefore: number[] = [];
  /** The result `push()` is filling (push runs to its end before anything else). */
  #out: PushResult = { events: [], replies: [] };
  readonly #sink: LineSink = {
    line: (text, start, end, next) => this.#handleLine(text, start, end, next, this.#out),
    dropped: (length) => this.#lineDropped(length, this.#out),
  };

  constructor(limits: Partial<ProtocolLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#splitter = new LineSplitter(this.#limits.maxLineChars);
  }

  /**
   * Registers a command just written; its reply is the next unclaimed one. Returns the ticket
   * that the matching `Reply` will carry.
   */
  expect(kind: ReplyKind): number {
    const id = this.#nextTicket++;
    this.#tickets.push({ id, kind, lines: [], chars: 0, truncated: false });
    return id;
  }

  /** Feeds received text (any chunking; `\r\n` or `\n` line ends). Never throws. */
  push(chunk: string): PushResult {
    const out: PushResult = { events: [], replies: [] };
    this.#out = out;
    this.#splitter.push(chunk, this.#sink);
    // The prompt has no line end: recognise it while it is the whole unfinished line.
    if (this.#splitter.partial === PASSWORD_PROMPT) {
      this.#splitter.clearPartial();
      this.#promptSeen = true;
      out.events.push({ type: "password-prompt" });
    }
    return out;
  }

  /**
   * How many of the last `push()`'s events came before its reply number `index` (an index of
   * its `replies`): the two lists in the order they were read, for a caller to whom it matters
   * (link_core.ts). Read it before the next push.
   */
  eventsBefore(index: number): number {
    return this.#eventsBefore[index]!;
  }

  /**
   * Forgets everything of the current connection (after the socket closed): unfinished line,
   * open block (reported, never emitted), and all tickets, whose ids are returned so the
   * caller can fail their commands.
   */
  reset(): { events: ManagementEvent[]; abandonedTickets: number[] } {
    const out: PushResult = { events: [], replies: [] };
    this.#dropOpenBlock(out, "Connection reset inside a >CLIENT: block: block dropped");
    const abandonedTickets = this.#tickets.map((ticket) => ticket.id);
    this.#tickets = [];
    this.#splitter.reset();
    this.#strayEnvReported = false;
    this.#promptSeen = false;
    this.#outOfStep = false;
    return { events: out.events, abandonedTickets };
  }

  stats(): ProtocolStats {
    let bufferedChars = this.#splitter.partial.length + (this.#block?.chars ?? 0);
    for (const ticket of this.#tickets) bufferedChars += ticket.chars;
    return {
      bufferedChars,
      pendingTickets: this.#tickets.length,
      openBlockEnvLines: this.#block?.lines ?? 0,
    };
  }

  /** A line too long to keep: inside a block it was most likely an ENV line, so the block goes. */
  #lineDropped(length: number, out: PushResult): void {
    const block = this.#block;
    const limit = this.#limits.maxLineChars;
    if (block?.header !== undefined) {
      if (block.drop === undefined) {
        block.dropAtEnd("line-too-long", `a line of ${length}+ chars (limit ${limit})`);
      }
      return;
    }
    this.#warn(out, "line-too-long", `Line of ${length}+ chars dropped: limit is ${limit}`);
  }

  /** The line `text.slice(start, end)`; `next`: as `LineSink.line` has it. */
  #handleLine(text: string, start: number, end: number, next: number, out: PushResult): number {
    if (this.#promptSeen) {
      // A prompt recognised without line end may still get one: do not treat it as a reply.
      this.#promptSeen = false;
      if (start === end) return next;
    }
    if (text.startsWith(ENV_PREFIX, start)) return this.#handleEnv(text, start, end, next, out);
    this.#strayEnvReported = false;
    const line = start === 0 && end === text.length ? text : text.slice(start, end);
    if (line === PASSWORD_PROMPT) {
      out.events.push({ type: "password-prompt" });
    } else if (line.startsWith(">")) {
      this.#handleRealtime(line, out);
    } else {
      this.#handleReplyLine(line, out);
    }
    return next;
  }

  #handleRealtime(line: string, out: PushResult): void {
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : line.slice(1, colon);
    if (!/^[A-Z0-9_-]+$/.test(name)) {
      out.events.push(malformed("real-time"));
      return;
    }
    const payload = line.slice(colon + 1);
    if (name === "CLIENT") {
      this.#handleClient(payload, out);
      return;
    }
    out.events.push(parseRealtime(name, payload));
  }

  #handleClient(payload: string, out: PushResult): void {
    const parsed = parseClientHeader(payload);
    switch (parsed.type) {
      case "block":
      case "malformed-block":
        this.#dropOpenBlock(out, "New >CLIENT: header before ENV,END: previous block dropped");
        if (parsed.type === "malformed-block") {
          this.#warn(
            out,
            "malformed-line",
            `Malformed >CLIENT:${parsed.subtype} line: block dropped`,
            parsed.ids,
          );
        }
        this.#block = new OpenClientBlock(
          parsed.type === "block" ? parsed.header : undefined,
          this.#limits.maxEnvLines,
        );
        return;
      case "address":
        out.events.push(parsed.event);
        return;
      case "malformed":
        out.events.push(malformed(`>CLIENT:${parsed.subtype}`));
        return;
      case "unknown":
        out.events.push({ type: "unknown", name: "CLIENT", payload });
        return;
    }
  }

  /**
   * An ENV line, `text.slice(start, end)`. Returns where the splitter goes on in `text`: the
   * lines that follow in the same chunk are most likely the block's other ENV lines, and are
   * taken here in one loop instead of one call through the splitter each.
   */
  #handleEnv(text: string, start: number, end: number, next: number, out: PushResult): number {
    const block = this.#block;
    if (block === undefined) {
      if (!this.#strayEnvReported) {
        this.#strayEnvReported = true;
        this.#warn(out, "env-outside-block", ">CLIENT:ENV line without a block: skipped");
      }
      return next;
    }
    this.#envLine(block, text, start, end, next, out);
    if (next === -1) return next;
    const maxLineChars = this.#limits.maxLineChars;
    let pos = next;
    while (this.#block === block && text.startsWith(ENV_PREFIX, pos)) {
      const newline = text.indexOf("\n", pos);
      // An unfinished or overlong line is the splitter's to hold or drop.
      if (newline === -1 || newline - pos > maxLineChars) break;
      const stop = text.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
      this.#envLine(block, text, pos, stop, newline + 1, out);
      pos = newline + 1;
    }
    return pos;
  }

  #envLine(
    block: OpenClientBlock,
    text: string,
    start: number,
    end: number,
    next: number,
    out: PushResult,
  ): void {
    if (end - start === ENV_END.length && text.startsWith(ENV_END, start)) {
      this.#block = undefined;
      this.#closeBlock(block, out);
      return;
    }
    block.add(text, start, end, next);
  }

  #closeBlock(block: OpenClientBlock, out: PushResult): void {
    const header = block.header;
    if (header === undefined) return; // already reported as malformed
    if (block.drop !== undefined) {
      this.#warn(
        out,
        block.drop.code,
        `>CLIENT block with ${block.lines} ENV lines dropped: ${block.drop.why}`,
        header,
      );
      return;
    }
    out.events.push(blockEvent(header, block.env()));
  }

  #dropOpenBlock(out: PushResult, message: string): void {
    const block = this.#block;
    if (block === undefined) return;
    this.#block = undefined;
    if (block.header !== undefined) this.#warn(out, "incomplete-block", message, block.header);
  }

  #handleReplyLine(line: string, out: PushResult): void {
    // Which command a reply line answers is unknown now: matching it to any would be a guess.
    if (this.#outOfStep) return;
    const ticket = this.#tickets[0];
    if (ticket === undefined) {
      this.#warn(
        out,
        "unexpected-reply",
        `Reply line with no command waiting: ${describeLine(line)}`,
      );
      return;
    }
    if (ticket.kind === "single") {
      this.#tickets.shift();
      if (line.startsWith("SUCCESS:")) {
        this.#reply(out, {
          ticket: ticket.id,
          type: "success",
          message: line.slice(8).trimStart(),
        });
      } else if (line.startsWith("ERROR:")) {
        this.#reply(out, { ticket: ticket.id, type: "error", message: line.slice(6).trimStart() });
      } else {
        // Consumed as this command's reply: OpenVPN sends exactly one line per such command.
        const message = `Unexpected reply line: ${describeLine(line)}`;
        this.#warn(out, "unexpected-reply", message);
        this.#reply(out, { ticket: ticket.id, type: "error", message });
      }
      return;
    }
    const first = ticket.lines.length === 0 && !ticket.truncated;
    if (first && ticket.kind === "status" && !beginsStatusReply(line)) {
      this.#outOfStep = true;
      this.#warn(
        out,
        "out-of-step",
        `Replies out of step: the reply to status begins with TITLE, got ${describeLine(line)}: ` +
          "OpenVPN skipped the command, so no later reply can be matched to its command",
      );
      return;
    }
    if (first && line.startsWith("ERROR:")) {
      this.#tickets.shift();
      this.#reply(out, { ticket: ticket.id, type: "error", message: line.slice(6).trimStart() });
      return;
    }
    if (line === "END") {
      this.#tickets.shift();
      this.#reply(out, {
        ticket: ticket.id,
        type: "lines",
        lines: ticket.lines,
        truncated: ticket.truncated,
      });
      return;
    }
    if (ticket.truncated) return;
    const chars = ticket.chars + line.length + REPLY_LINE_OVERHEAD_CHARS;
    if (chars > this.#limits.maxReplyChars) {
      ticket.truncated = true;
      this.#warn(
        out,
        "reply-too-long",
        `Reply longer than ${this.#limits.maxReplyChars} chars ` +
          `(each line counted ${REPLY_LINE_OVERHEAD_CHARS} more): rest dropped`,
      );
      return;
    }
    ticket.lines.push(line);
    ticket.chars = chars;
  }

  #reply(out: PushResult, reply: Reply): void {
    // Written in place (index <= length): the array keeps its store from push to push.
    this.#eventsBefore[out.replies.length] = out.events.length;
    out.replies.push(reply);
  }

  #warn(
    out: PushResult,
    code: ProtocolWarningCode,
    message: string,
    ids?: { cid: number; kid?: number },
  ): void {
    const warning: ProtocolWarning = { type: "warning", code, message };
    if (ids !== undefined) {
      warning.cid = ids.cid;
      if (ids.kid !== undefined) warning.kid = ids.kid;
    }
    out.events.push(warning);
  }
}

function blockEvent(header: BlockHeader, env: ClientEnv): ClientBlockEvent {
  switch (header.kind) {
    case "client-connect":
    case "client-reauth":
      return { type: header.kind, cid: header.cid, kid: header.kid, env };
    case "client-established":
    case "client-disconnect":
      return { type: header.kind, cid: header.cid, env };
    case "client-cr-response":
      return {
        type: header.kind,
        cid: header.cid,
        kid: header.kid,
        response: header.response,
        env,
      };
  }
}
