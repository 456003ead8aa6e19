/**
 * A stand-in edge for the SDK tests: a real HTTP server on 127.0.0.1 that records every upload
 * (batch id, lines, time) and answers what the test scripts, by default like the edge does: 202
 * with a receipt, and `duplicate: true` for a batch id it has already stored.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export type Upload = {
  batchId: string;
  device: { id: string } & Record<string, unknown>;
  logs: {
    ts: number;
    level: string;
    text: string;
    tag?: string;
    method?: string;
    file?: string;
    line?: number;
    attrs?: Record<string, unknown>;
  }[];
};

export type Received = { at: number; body: string; upload: Upload; headers: IncomingMessage["headers"] };

export type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

export type EdgeStub = {
  url: string;
  received: Received[];
  /** Batches stored (202 answered), by id. */
  stored: Map<string, Upload>;
  /** What `GET /v1/settings` answers (null: 503, as an edge with no answer would not, to test failures). */
  settings: { enabled: boolean; minLevel: string } | null;
  /** The settings requests received (their URLs). */
  settingsAsked: string[];
  /** Answers the next requests with these, then falls back to the default. */
  script(...answers: Answer[]): void;
  close(): Promise<void>;
};

export async function startEdgeStub(): Promise<EdgeStub> {
  const received: Received[] = [];
  const stored = new Map<string, Upload>();
  const scripted: Answer[] = [];

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    // Browsers preflight the SDK's uploads (JSON with an Authorization header), as for the edge.
    const cors = { "access-control-allow-origin": "*" };
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "authorization, content-type, x-request-id",
      });
      res.end();
      return;
    }
    if (req.method === "GET" && req.url?.startsWith("/v1/settings")) {
      stub.settingsAsked.push(req.url);
      const answer = stub.settings ? { ...stub.settings, source: "device" } : null;
      res.writeHead(answer ? 200 : 503, { ...cors, "content-type": "application/json" });
      res.end(JSON.stringify(answer ?? { error: { code: "REGION_UNAVAILABLE", message: "scripted" } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const upload = JSON.parse(body) as Upload;
    received.push({ at: Date.now(), body, upload, headers: req.headers });
    const answer = scripted.shift() ?? {
      status: 202,
      body: {
        batchId: upload.batchId,
        region: "stub",
        accepted: upload.logs.length,
        duplicate: stored.has(upload.batchId),
      },
    };
    if (answer.status === 202) stored.set(upload.batchId, upload);
    res.writeHead(answer.status, {
      ...cors,
      "access-control-expose-headers": "retry-after",
      "content-type": "application/json",
      ...answer.headers,
    });
    res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const stub: EdgeStub = {
    url: `http://127.0.0.1:${port}`,
    received,
    stored,
    settings: { enabled: true, minLevel: "trace" },
    settingsAsked: [],
    script: (...answers) => scripted.push(...answers),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return stub;
}
