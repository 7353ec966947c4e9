/**
 * A management connection for ServerLink tests: always up, each command answered at once by
 * `answer` (given the command and how many were sent so far, this one included), and every
 * command's text kept in `sent`; `emit` hands the link an event as the real connection would.
 */
import type {
  ConnectionEvent,
  ConnectionEventHandler,
  ManagementConnection,
} from "../../src/management/connection.ts";
import type { ManagementCommand } from "../../src/management/commands.ts";
import type { Reply } from "../../src/management/events.ts";

export function scriptedConnection(answer: (command: ManagementCommand, count: number) => Reply) {
  const sent: string[] = [];
  let handler: ConnectionEventHandler | undefined;
  const connection = {
    onEvent: (h: ConnectionEventHandler) => ((handler = h), () => (handler = undefined)),
    start: () => {},
    close: () => Promise.resolve(),
    status: () => ({ linkUp: true, managementVersion: 5, lastError: undefined }),
    send: (command: ManagementCommand): Promise<Reply> => {
      sent.push(command.text);
      return Promise.resolve(answer(command, sent.length));
    },
  } as unknown as ManagementConnection;
  return { connection, sent, emit: (event: ConnectionEvent) => handler!(event) };
}
