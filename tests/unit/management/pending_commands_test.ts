import { assertEquals } from "../../support/assert.ts";
import { type PendingCommand, PendingCommands } from "../../../src/management/pending_commands.ts";

function command(ticket: number, deadline = 1_000): PendingCommand {
  return {
    ticket,
    name: `command ${ticket}`,
    timeoutMs: 1_000,
    deadline,
    resolve: () => {},
    reject: () => {},
  };
}

const tickets = (commands: readonly (PendingCommand | undefined)[]) =>
  commands.map((one) => one?.ticket);

Deno.test("PendingCommands gives each reply, in order, its own command, and each only once", () => {
  const pending = new PendingCommands();
  for (const ticket of [1, 2, 3]) pending.add(command(ticket));
  assertEquals(tickets([pending.take(1), pending.take(2)]), [1, 2]);
  assertEquals(pending.take(1), undefined);
  assertEquals(pending.take(3)?.ticket, 3);
  assertEquals(pending.take(3), undefined);
  assertEquals(pending.takeAll(), []);
});

Deno.test("PendingCommands takes a command from the middle and keeps the others in order", () => {
  const pending = new PendingCommands();
  for (const ticket of [1, 2, 3, 4]) pending.add(command(ticket));
  assertEquals(pending.take(3)?.ticket, 3);
  assertEquals(pending.take(9), undefined);
  assertEquals(tickets(pending.takeAll()), [1, 2, 4]);
  assertEquals(pending.takeAll(), []);
});

Deno.test("PendingCommands keeps its order across the ring's end and while it grows", () => {
  const pending = new PendingCommands();
  let next = 1;
  let expected = 1;
  // Ten in flight, one taken and one added per step: the head wraps the 16 slots many times.
  for (let i = 0; i < 10; i++) pending.add(command(next++));
  for (let step = 0; step < 100; step++) {
    assertEquals(pending.take(expected)?.ticket, expected);
    expected++;
    pending.add(command(next++));
  }
  // A storm: the ring grows from a wrapped position.
  for (let i = 0; i < 5_000; i++) pending.add(command(next++));
  const all = tickets(pending.takeAll());
  assertEquals(all.length, 5_010);
  assertEquals(all[0], expected);
  assertEquals(all.every((ticket, i) => ticket === expected + i), true);
});

Deno.test("PendingCommands goes back to its first size once a storm has been answered", () => {
  const pending = new PendingCommands();
  const first = pending.capacity;
  for (let ticket = 1; ticket <= 5_000; ticket++) pending.add(command(ticket));
  assertEquals(pending.capacity >= 5_000, true);
  for (let ticket = 1; ticket < 5_000; ticket++) pending.take(ticket);
  assertEquals(pending.capacity >= 5_000, true, "not while a command waits");
  pending.take(5_000);
  assertEquals(pending.capacity, first);
  pending.add(command(5_001));
  assertEquals(pending.take(5_001)?.ticket, 5_001);
});

Deno.test("PendingCommands takes the expired commands and tells the next deadline", () => {
  const pending = new PendingCommands();
  pending.add(command(1, 500));
  pending.add(command(2, 2_000));
  pending.add(command(3, 400));
  pending.add(command(4, 1_500));
  const { expired, nextDeadline } = pending.takeExpired(500);
  assertEquals(tickets(expired), [1, 3]);
  assertEquals(nextDeadline, 1_500);
  assertEquals(pending.take(2)?.ticket, 2);
  assertEquals(pending.takeExpired(1_000), { expired: [], nextDeadline: 1_500 });
  assertEquals(tickets(pending.takeExpired(1_500).expired), [4]);
  assertEquals(pending.takeExpired(10_000), { expired: [], nextDeadline: Infinity });
});
