import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regionTransport } from "./transport.ts";

/** A peer that answers by path: at once, late, or by cutting the connection mid-answer. */
let server: Server;
let base: string;
let connections = 0;
beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/echo") {
        response.writeHead(201, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            method: request.method,
            signed: request.headers["x-signed"],
            body: `${Buffer.concat(chunks)}`,
          }),
        );
      } else if (request.url === "/busy") {
        response.writeHead(503);
        response.end('{"error":{"code":"OVERLOADED"}}');
      } else if (request.url === "/late") setTimeout(() => response.end("late"), 1000);
      else {
        response.writeHead(200);
        response.write("{");
        setTimeout(() => response.destroy(), 20);
      }
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const call = (path: string, timeoutMs = 2000, body?: string) =>
  regionTransport({
    url: new URL(path, base),
    method: body === undefined ? "GET" : "POST",
    headers: { "x-signed": "yes" },
    body: body === undefined ? undefined : new TextEncoder().encode(body),
    timeoutMs,
  });

describe("regionTransport", () => {
  it("sends the headers and body, and reads the whole answer with its status", async () => {
    const answered = await call("/echo", 2000, '{"from":"us-east"}');
    expect(answered).toEqual({
      ok: true,
      value: { status: 201, text: JSON.stringify({ method: "POST", signed: "yes", body: '{"from":"us-east"}' }) },
    });
    // Calls one after another go on kept-alive connections (the pool may open a second as the
    // first is released), not one each.
    const opened = connections;
    for (let index = 0; index < 10; index++) expect((await call("/echo")).ok).toBe(true);
    expect(connections - opened).toBeLessThanOrEqual(1);
  });

  it("hands back a refusal as an answer: the caller decides by status", async () => {
    expect(await call("/busy")).toEqual({ ok: true, value: { status: 503, text: '{"error":{"code":"OVERLOADED"}}' } });
  });

  it("fails as a timeout when no answer comes in time, and as unreachable when nobody listens", async () => {
    expect(await call("/late", 100)).toEqual({
      ok: false,
      error: { kind: "timeout", retryable: true, message: "no answer within 100 ms" },
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await regionTransport({
      url: new URL(`http://127.0.0.1:${port}/echo`),
      method: "GET",
      headers: {},
      body: undefined,
      timeoutMs: 2000,
    });
    expect(refused.ok ? null : refused.error).toMatchObject({ kind: "unreachable", retryable: true });
  });

  it("fails as unreachable when the connection goes mid-answer: what the peer meant is unknown", async () => {
    expect(await call("/cut")).toEqual({
      ok: false,
      error: { kind: "unreachable", retryable: true, message: "connection lost mid-response" },
    });
  });
});
