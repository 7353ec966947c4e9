import { assertEquals } from "../../support/assert.ts";
import { freePort } from "../../support/free_port.ts";

Deno.test("freePort() never hands out the same port twice in one process", async () => {
  // Without the memory of ports given, 500 asks in a row repeated a port in 10 runs of 10 here,
  // and two asks in a row gave the same port once in about 5,000 (the long URL test's failure).
  const ports: number[] = [];
  for (let i = 0; i < 500; i++) ports.push(await freePort());
  assertEquals(new Set(ports).size, ports.length);
});
