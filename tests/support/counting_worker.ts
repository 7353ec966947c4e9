/**
 * A live count worker that answers each count 100 ms after it came, with `sessions` = how many
 * count requests it has received so far: a test reads from the answer how many were sent.
 */
declare const self: {
  onmessage: ((event: MessageEvent<{ id: number; op: string }>) => void) | null;
  postMessage(message: unknown): void;
};

let received = 0;

self.onmessage = ({ data: { id, op } }) => {
  if (op === "close") return self.postMessage({ id, closed: true });
  received++;
  const sessions = received;
  setTimeout(() => self.postMessage({ id, counts: { sessions, pending: 0 } }), 100);
};
