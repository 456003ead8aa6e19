/**
 * A small local load balancer for drain tests, standing in for a Kubernetes Service behind an
 * ingress: it sends each request to the next backend that passes its readiness probe (`/readyz`,
 * polled every `probeIntervalMs`), and, like the edge failing over between regions, retries the
 * same bytes on the next ready backend when one is unreachable or answers 503.
 */
import { createServer, type Server } from "node:http";

export type Backend = { url: string; ready: boolean; terminating: boolean };

export class RoundRobinProxy {
  readonly backends: Backend[] = [];
  /** Requests sent to a second backend after the first was unreachable or answered 503. */
  retries = 0;
  /** Requests whose connection broke after they were sent (not refused): a drain must cause none. */
  cut = 0;
  private next = 0;
  private server: Server | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly probeIntervalMs: number;

  constructor(probeIntervalMs = 100) {
    this.probeIntervalMs = probeIntervalMs;
  }

  async listen(): Promise<string> {
    const server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name)),
      ) as Record<string, string>;
      const tried = new Set<Backend>();
      for (let attempt = 0; attempt < Math.max(1, this.backends.length); attempt++) {
        const backend = this.pick(tried);
        if (!backend) break;
        tried.add(backend);
        if (attempt > 0) this.retries++;
        try {
          const answer = await fetch(new URL(request.url ?? "/", backend.url), {
            method: request.method,
            headers,
            body,
          });
          if (answer.status === 503 && this.pick(tried)) continue;
          // fetch has decoded the body and will frame it again: drop the framing headers.
          const answerHeaders: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (!["content-encoding", "content-length", "transfer-encoding", "connection"].includes(name)) {
              answerHeaders[name] = value;
            }
          });
          response.writeHead(answer.status, answerHeaders);
          response.end(Buffer.from(await answer.arrayBuffer()));
          return;
        } catch (error) {
          // Refused: the backend no longer listens. Anything else broke a request in flight.
          if ((error as { cause?: { code?: string } }).cause?.code !== "ECONNREFUSED") this.cut++;
        }
      }
      response.writeHead(502, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { code: "NO_BACKEND", message: "no backend answered", requestId: "" } }));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.probe = setInterval(() => void this.probeAll(), this.probeIntervalMs);
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  add(url: string): void {
    this.backends.push({ url, ready: false, terminating: false });
  }

  /**
   * Takes a backend out of rotation at once, as Kubernetes removes a terminating pod from the
   * Service's endpoints while its preStop hook runs, before the pod gets SIGTERM.
   */
  terminate(url: string): void {
    for (const backend of this.backends) if (backend.url === url) backend.terminating = true;
  }

  remove(url: string): void {
    const index = this.backends.findIndex((backend) => backend.url === url);
    if (index >= 0) this.backends.splice(index, 1);
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private pick(exclude: Set<Backend>): Backend | undefined {
    const ready = this.backends.filter((backend) => backend.ready && !backend.terminating && !exclude.has(backend));
    if (ready.length === 0) return undefined;
    this.next = (this.next + 1) % ready.length;
    return ready[this.next];
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      this.backends.map(async (backend) => {
        backend.ready = await fetch(`${backend.url}/readyz`, { signal: AbortSignal.timeout(500) }).then(
          (answer) => answer.ok,
          () => false,
        );
      }),
    );
  }
}
