/**
 * A TCP proxy in front of a redis-server, for tests of a client that loses Redis: `cut()` drops
 * it off the network, `closeAt()` closes a connection just as the client sends a given command
 * (unanswered, unforwarded), a moment a CLIENT KILL from outside can only hit by chance.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./free_port.ts";

export class RedisProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  #closeAt: { command: RegExp; times: number } | undefined;
  /** What the instance sent since the cut (dropped), as text. */
  dropped = "";

  private constructor(port: number, redisPort: number) {
    this.port = port;
    this.#server = createServer((client) => {
      if (this.#cut) return client.destroy();
      const upstream = connect(redisPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (chunk: Uint8Array) => {
        const text = new TextDecoder().decode(chunk);
        if (this.#cut) this.dropped += text;
        else if (this.#closesAt(text)) client.destroy();
        else upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        if (!this.#cut) client.write(chunk);
      });
    });
  }

  static async start(redisPort: number): Promise<RedisProxy> {
    const proxy = new RedisProxy(await freePort(), redisPort);
    await new Promise<void>((resolve) => proxy.#server.listen(proxy.port, "127.0.0.1", resolve));
    return proxy;
  }

  /**
   * Redis unreachable for this instance: established connections go silent (packets lost,
   * not refused) and new ones are closed at once.
   */
  cut(): void {
    this.#cut = true;
  }

  /**
   * The next `times` writes that hold the command `name` (e.g. "subscribe") close their
   * connection instead of reaching Redis: the client loses it with that command unanswered.
   */
  closeAt(name: string, times: number): void {
    // A command is a RESP array whose first element is its name: "*2\r\n$9\r\nsubscribe\r\n".
    this.#closeAt = {
      command: new RegExp(`\\*\\d+\\r\\n\\$${name.length}\\r\\n${name}\\r\\n`, "i"),
      times,
    };
  }

  /** How many more writes closeAt() is to close. */
  get closesLeft(): number {
    return this.#closeAt?.times ?? 0;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #closesAt(text: string): boolean {
    const closeAt = this.#closeAt;
    if (closeAt === undefined || closeAt.times === 0 || !closeAt.command.test(text)) return false;
    closeAt.times--;
    return true;
  }
}
