/**
 * The sockets the connection guard relays between, as each runtime's transport provides them
 * (guard_transport.ts for Deno, guard_transport_bun.ts for Bun).
 */

/**
 * The address the relay sockets connect from, and the private HTTP server listens on: the
 * server serves no other peer (serve.ts).
 */
export const RELAY_HOST = "127.0.0.1";
export interface RelaySocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /**
   * Hands each chunk read to `onChunk` and waits for it before reading on (back-pressure);
   * settles at end of stream, on an error, or when the socket is closed. Nothing is handed on
   * once `close()` has been called, not even a read that finished as it ran.
   */
  pump(onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void>;
  /** Settles when the kernel has taken all of it; may reject if the socket closes meanwhile. */
  write(chunk: Uint8Array): Promise<void>;
  /** No more writes (the peer sees end of stream); reading goes on. */
  end(): void;
  close(): void;
}

export interface GuardListener {
  readonly port: number;
  close(): void;
}

export interface GuardTransport {
  /** `onError` hears of failed accepts (EMFILE); the listener keeps accepting. */
  listen(
    host: string,
    port: number,
    onSocket: (socket: RelaySocket) => void,
    onError: (error: unknown) => void,
  ): Promise<GuardListener>;
  /** A connection to 127.0.0.1:`port`. */
  connect(port: number): Promise<RelaySocket>;
}
