/**
 * A live count worker that holds count requests until it has three, then answers them last
 * first, each with `sessions` = the number in its server's name ("vpn2" -> 2): a caller that
 * matched answers to requests by order instead of by id would get another server's count.
 */
declare const self: {
  onmessage:
    | ((event: MessageEvent<{ id: number; op: string; server?: string }>) => void)
    | null;
  postMessage(message: unknown): void;
};

const held: Array<{ id: number; server: string }> = [];

self.onmessage = ({ data: { id, op, server } }) => {
  if (op === "close") return self.postMessage({ id, closed: true });
  held.push({ id, server: server ?? "" });
  if (held.length < 3) return;
  for (const request of held.reverse()) {
    const sessions = Number(/\d+$/.exec(request.server)?.[0] ?? -1);
    self.postMessage({ id: request.id, counts: { sessions, pending: 0 } });
  }
  held.length = 0;
};
