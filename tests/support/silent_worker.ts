/** A worker that takes every message and never answers: a stuck checkpoint worker. */
declare const self: { onmessage: ((event: MessageEvent) => void) | null };

self.onmessage = () => {};
