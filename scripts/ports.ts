/**
 * Free local ports for the processes that tests, benches and `npm start`'s tests run on this
 * machine (regions, `wrangler dev`, its inspector).
 *
 * A port found free can be taken by another process before the child that is handed it binds it:
 * the child's port must be known before it starts (peers and the edge are configured with it), so
 * the child cannot bind port 0 and report back. What can be done is done here: `freePort` never
 * hands the same port out twice in one process (two calls in a row can otherwise get one port
 * back from the OS), and `withFreePorts` starts again on fresh ports when a start failed because
 * one of its ports was taken in between, as several suites running at once on one machine do.
 */
import { createServer } from "node:net";

const handedOut = new Set<number>();

/**
 * A port on 127.0.0.1 that nothing listened on a moment ago and that this process has not handed
 * out before.
 * @example const edgePort = await freePort();
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await osFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** Whether binding 127.0.0.1:`port` fails because something else holds it. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(true);
      else reject(error);
    });
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

/**
 * Runs `start` on `count` fresh ports; if it fails and one of those ports is now held by someone
 * else (lost to another process between `freePort` and the bind), runs it again on fresh ports,
 * at most `attempts` times. Any other failure is thrown at once. `start` must release what it
 * bound before it fails (LocalSystem.start stops what it started).
 * @example const system = await withFreePorts(2, ([port, adminPort]) => startRegion(port, adminPort));
 */
export async function withFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let index = 0; index < count; index++) ports.push(await freePort());
    try {
      return await start(ports);
    } catch (error) {
      if (attempt >= attempts || !(await anyTaken(ports))) throw error;
    }
  }
}

async function anyTaken(ports: number[]): Promise<boolean> {
  for (const port of ports) if (await portTaken(port)) return true;
  return false;
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
