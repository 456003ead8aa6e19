import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, portTaken, withFreePorts } from "./ports.ts";

const servers: Server[] = [];

async function hold(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("free ports", () => {
  it("never hands out one port twice, even to concurrent callers", async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const port of ports.slice(0, 5)) expect(await portTaken(port)).toBe(false);
  });

  it("tells a held port from a free one", async () => {
    const port = await freePort();
    expect(await portTaken(port)).toBe(false);
    await hold(port);
    expect(await portTaken(port)).toBe(true);
  });

  it("starts again on fresh ports when a port was taken before the start bound it", async () => {
    const tried: number[][] = [];
    const started = await withFreePorts(2, async (ports) => {
      tried.push(ports);
      // Another process takes the second port first, as happens between freePort and a child's bind.
      if (tried.length === 1) {
        await hold(ports[1] as number);
        throw new Error("listen EADDRINUSE");
      }
      return ports;
    });
    expect(tried).toHaveLength(2);
    expect(started).toEqual(tried[1]);
    expect(started.some((port) => tried[0]?.includes(port))).toBe(false);
  });

  it("throws any other failure at once, and gives up after its attempts", async () => {
    let calls = 0;
    const broken = withFreePorts(1, async () => {
      calls++;
      throw new Error("bad configuration");
    });
    await expect(broken).rejects.toThrow("bad configuration");
    expect(calls).toBe(1);

    calls = 0;
    const unlucky = withFreePorts(
      1,
      async ([port]) => {
        calls++;
        await hold(port as number);
        throw new Error("taken");
      },
      3,
    );
    await expect(unlucky).rejects.toThrow("taken");
    expect(calls).toBe(3);
  });
});
