/**
 * The connection guard's own sockets, except that a connection made from a client port given
 * an alias reports that address as its peer: tests see several client addresses (per-client
 * caps, the browser address a handler gets) while every socket binds 127.0.0.1 only.
 */
import { guardTransport } from "../../src/http/guard_transport.ts";
import type { GuardTransport, RelaySocket } from "../../src/http/relay_socket.ts";

export interface AliasedTransport {
  transport: GuardTransport;
  /** The next connection from 127.0.0.1:`clientPort` is seen as coming from `address`. */
  alias(clientPort: number, address: string): void;
}

export function aliasedTransport(): AliasedTransport {
  const real = guardTransport();
  const aliases = new Map<number, string>();
  return {
    alias: (clientPort, address) => aliases.set(clientPort, address),
    transport: {
      listen: (host, port, onSocket, onError) =>
        real.listen(host, port, (socket) => {
          // Once: the port may later be another connection's.
          const address = aliases.get(socket.remotePort);
          aliases.delete(socket.remotePort);
          onSocket(address === undefined ? socket : seenFrom(socket, address));
        }, onError),
      connect: (port) => real.connect(port),
    },
  };
}

function seenFrom(socket: RelaySocket, address: string): RelaySocket {
  return {
    remoteAddress: address,
    remotePort: socket.remotePort,
    localPort: socket.localPort,
    pump: (onChunk) => socket.pump(onChunk),
    write: (chunk) => socket.write(chunk),
    end: () => socket.end(),
    close: () => socket.close(),
  };
}
