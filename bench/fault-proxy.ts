/**
 * A TCP proxy that can cut a link: the chaos harness puts one between every ordered pair of
 * regions (`from` → `to`), so a region can be cut off from its peers while the edge still
 * reaches it. Cutting destroys the open connections and refuses new ones until healed.
 */
import { connect, createServer, type Socket } from "node:net";

export type FaultProxy = {
  port: number;
  setCut(cut: boolean): void;
  close(): Promise<void>;
};

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const setCut = (value: boolean) => {
    cut = value;
    if (value) for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    setCut,
    close() {
      setCut(true);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
