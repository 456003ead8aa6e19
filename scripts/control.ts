/**
 * The control channel between a running `npm start` and `npm run region`: an HTTP server on
 * 127.0.0.1, on a port the system picks, that answers only requests bearing a random token. Its
 * URL and token are in `<dir>/control.json` (mode 0600, so only this user can drive it), written
 * once it listens and removed when `npm start` stops.
 *
 *   GET  /v1/processes                     {"processes": [ProcessStatus]}
 *   POST /v1/processes/:name/stop|kill|start   {"process": ProcessStatus}
 *
 * Errors have the project's one shape, `{"error": {"code", "message", "requestId"}}`.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { z } from "zod";
import { randomBytes, timingSafeEqual, toHex } from "../shared/encoding.ts";
import { ApiError, type ErrorCode, errorBody } from "../shared/errors.ts";
import { err, ok, type Result } from "../shared/result.ts";
import type { CommandError, Supervisor } from "./supervisor.ts";

export const controlFileSchema = z.object({ url: z.url(), token: z.string().min(32), pid: z.number().int() });
export type ControlFile = z.infer<typeof controlFileSchema>;

export const processStatusSchema = z.object({
  name: z.string(),
  state: z.enum(["up", "starting", "restarting", "stopped"]),
  pid: z.number().int().nullable(),
  restarts: z.number().int(),
  nextAttemptInMs: z.number().nullable(),
  lastExit: z.object({ code: z.number().int().nullable(), signal: z.string().nullable(), at: z.string() }).nullable(),
});

export const commands = ["stop", "kill", "start"] as const;
export type Command = (typeof commands)[number];

const errorCodeOf = {
  unknown_process: "NOT_FOUND",
  not_up: "BAD_REQUEST",
  not_stopped: "BAD_REQUEST",
  start_failed: "INTERNAL",
} as const satisfies Record<CommandError["kind"], ErrorCode>;

export function controlApp(supervisor: Supervisor, token: string): Hono<{ Variables: { requestId: string } }> {
  const app = new Hono<{ Variables: { requestId: string } }>();
  app.use(requestId());
  app.use(async (c, next) => {
    const given = c.req.header("authorization")?.replace(/^Bearer /, "") ?? "";
    if (!timingSafeEqual(given, token)) throw new ApiError("UNAUTHORIZED", "missing or wrong control token");
    await next();
  });
  app.get("/v1/processes", (c) => c.json({ processes: supervisor.status() }));
  for (const command of commands) {
    app.post(`/v1/processes/:name/${command}`, async (c) => {
      const result = await supervisor[command](c.req.param("name"));
      if (!result.ok) throw new ApiError(errorCodeOf[result.error.kind], result.error.message);
      return c.json({ process: result.value });
    });
  }
  app.notFound((c) => {
    return c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`, c.get("requestId")), 404);
  });
  app.onError((error, c) => {
    const id = c.get("requestId") ?? "";
    if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, id), error.status);
    return c.json(errorBody("INTERNAL", error.message, id), 500);
  });
  return app;
}

/** Serves the control API for `supervisor` and writes `<dir>/control.json`; `close` undoes both. */
export async function startControl(supervisor: Supervisor, dir: string): Promise<{ close(): Promise<void> }> {
  const token = toHex(randomBytes(32));
  const app = controlApp(supervisor, token);
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) =>
      resolve({ server, port: info.port }),
    ) as Server;
  });
  const file = controlFilePath(dir);
  const control: ControlFile = { url: `http://127.0.0.1:${port}`, token, pid: process.pid };
  writeFileSync(file, `${JSON.stringify(control, null, 2)}\n`, { mode: 0o600 });
  return {
    close: async () => {
      rmSync(file, { force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function controlFilePath(dir: string): string {
  return path.join(dir, "control.json");
}

/** The running `npm start`'s control file, or why there is none to use. */
export function readControlFile(dir: string): Result<ControlFile, string> {
  let raw: string;
  try {
    raw = readFileSync(controlFilePath(dir), "utf8");
  } catch {
    return err(`npm start is not running in ${dir} (there is no ${controlFilePath(dir)})`);
  }
  try {
    return ok(controlFileSchema.parse(JSON.parse(raw)));
  } catch {
    return err(`${controlFilePath(dir)} is not a valid control file; restart npm start to rewrite it`);
  }
}
