import { createServer } from "node:net";
import { assert, assertEquals } from "../../support/assert.ts";
import { freePort, portsBelowEphemeralRange } from "../../support/free_port.ts";

Deno.test("freePort() never hands out the same port twice in one process", async () => {
  // Without the memory of ports given, 500 asks in a row repeated a port in 10 runs of 10 here,
  // and two asks in a row gave the same port once in about 5,000 (the long URL test's failure).
  const ports: number[] = [];
  for (let i = 0; i < 500; i++) ports.push(await freePort());
  assertEquals(new Set(ports).size, ports.length);
});

Deno.test("freePort() gives free ports below the kernel's ephemeral range, where bind(0) never lands", async () => {
  const below = portsBelowEphemeralRange();
  // The machines this suite runs on are Linux with the default range (32768-60999).
  assert(below !== undefined, "no room below the ephemeral range on this machine");
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    assert(
      port >= below.low && port < below.high,
      `port ${port} outside ${below.low}-${below.high}`,
    );
    // Free: it binds.
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
