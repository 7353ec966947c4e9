/**
 * Loads a recorded management transcript from tests/fixtures/transcripts/ (`>> ` lines we
 * sent, `<< ` lines OpenVPN sent, `<~ ` text OpenVPN sent without a line end, `-- ` notes;
 * timestamps already stripped) and replays it through the protocol core: every command
 * registers its expected reply kind(s), every received line is pushed with OpenVPN's `\r\n`.
 */
import {
  ManagementProtocol,
  type PushResult,
  type ReplyKind,
} from "../../../src/management/protocol.ts";

/** `received` includes its line end (`\r\n`, or none for a prompt). */
export type Step = { sent: string } | { received: string };

const FIXTURES = new URL("../../fixtures/transcripts/", import.meta.url);

/** The notes (`-- ` lines) of a transcript, e.g. how a recorded handshake ended. */
export function transcriptNotes(name: string): string[] {
  return readTranscript(name).split("\n").filter((line) => line.startsWith("-- "))
    .map((line) => line.slice(3));
}

/** Every transcript in tests/fixtures/transcripts/. */
export function transcriptNames(): string[] {
  return [...Deno.readDirSync(FIXTURES)].map((entry) => entry.name)
    .filter((name) => name.endsWith(".txt")).sort();
}

function readTranscript(name: string): string {
  return Deno.readTextFileSync(new URL(name, FIXTURES));
}

export function loadTranscript(name: string): Step[] {
  const text = readTranscript(name);
  const steps: Step[] = [];
  let block: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith(">> ")) {
      const sent = line.slice(3);
      // `client-auth` sends config lines up to END as one command with one reply.
      if (block !== undefined) {
        block.push(sent);
        if (sent === "END") {
          steps.push({ sent: block.join("\n") });
          block = undefined;
        }
      } else if (/^client-auth \d+ \d+$/.test(sent)) {
        block = [sent];
      } else {
        steps.push({ sent });
      }
    } else if (line.startsWith("<< ")) {
      steps.push({ received: `${line.slice(3)}\r\n` });
    } else if (line.startsWith("<~ ")) {
      steps.push({ received: line.slice(3) });
    }
  }
  return steps;
}

/** The replies a command produces, in order (`echo on all` answers twice). */
export function replyKinds(command: string): ReplyKind[] {
  const words = command.split("\n")[0]!.split(" ");
  const [name, arg1, arg2] = words;
  if (name === "version" && arg1 === undefined) return ["multi"];
  if (name === "status") return ["status"];
  if (name === "state" || name === "log" || name === "echo") {
    const args = [arg1, arg2].filter((arg) => arg !== undefined);
    if (args.length === 0) return ["multi"];
    return args.map((arg) => (arg === "on" || arg === "off" ? "single" : "multi"));
  }
  return ["single"];
}

export interface Replay extends PushResult {
  /** For each of `replies`, how many of `events` came before it. */
  eventsBefore: number[];
  /** Ticket numbers per sent command, in order. */
  tickets: Array<{ command: string; tickets: number[] }>;
}

/** Replays `steps`; `chunkSize` > 0 re-chunks the received text to test partial lines. */
export function replay(steps: Step[], chunkSize = 0, core = new ManagementProtocol()): Replay {
  const result: Replay = { events: [], replies: [], eventsBefore: [], tickets: [] };
  let pendingText = "";
  const flush = () => {
    if (pendingText === "") return;
    const size = chunkSize > 0 ? chunkSize : pendingText.length;
    for (let i = 0; i < pendingText.length; i += size) {
      const out = core.push(pendingText.slice(i, i + size));
      const before = result.events.length;
      result.eventsBefore.push(...out.replies.map((_, index) => before + core.eventsBefore(index)));
      result.events.push(...out.events);
      result.replies.push(...out.replies);
    }
    pendingText = "";
  };
  for (const step of steps) {
    if ("sent" in step) {
      flush();
      const tickets = replyKinds(step.sent).map((kind) => core.expect(kind));
      result.tickets.push({ command: step.sent, tickets });
    } else {
      pendingText += step.received;
    }
  }
  flush();
  return result;
}
