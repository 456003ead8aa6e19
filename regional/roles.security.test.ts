// Who may call what: each route group takes one caller role (edge, peer, admin) signed for this
// region; a leaked edge secret without a live read key reads nothing; admin routes exist only on
// the admin listener; and a signature is checked from the headers before a body is read, which
// each route then reads with its own cap.
import type { Server } from "node:http";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHash, keyLabel, mintKey } from "../shared/keys.ts";
import { limits } from "../shared/limits.ts";
import { adminPaths, internalPaths } from "../shared/regions.ts";
import { replicateBodyBytesMax } from "../shared/replication.ts";
import { type CallerRole, callerRoles, signRequest } from "../shared/signing.ts";
import { controlBodyBytesMax } from "./request.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import {
  adminRequest,
  drivers,
  readKeyFor,
  signedRequest,
  testAppId,
  testKeySecret,
  testSecrets,
  useTestRegion,
} from "./testing/harness.ts";
import { storedCounts } from "./testing/rows.ts";

type Route = { role: CallerRole; method: "GET" | "POST" | "PUT"; path: string; json?: unknown };

const appId = testAppId();
const routes: Route[] = [
  { role: "edge", method: "POST", path: internalPaths.batches(appId), json: makeBatch({ lines: [{ ts: baseTs }] }) },
  { role: "edge", method: "GET", path: internalPaths.logs(appId) },
  { role: "edge", method: "GET", path: internalPaths.devices(appId) },
  { role: "edge", method: "GET", path: internalPaths.revokedKeys },
  { role: "peer", method: "POST", path: internalPaths.replicate, json: { from: "us-east", batches: [] } },
  { role: "peer", method: "POST", path: internalPaths.syncEntries, json: { buckets: [{ appId, hour: 1 }] } },
  { role: "peer", method: "POST", path: internalPaths.syncFetch, json: { items: [{ appId, batchId: "b-000001" }] } },
  { role: "peer", method: "GET", path: internalPaths.syncDigests },
  { role: "peer", method: "GET", path: internalPaths.syncControl },
  { role: "admin", method: "GET", path: adminPaths.apps },
  { role: "admin", method: "PUT", path: adminPaths.app(appId), json: { name: "roles", keys: [] } },
  { role: "admin", method: "GET", path: adminPaths.appKeys(appId) },
  {
    role: "admin",
    method: "POST",
    path: adminPaths.revokeKey,
    json: { hash: "f".repeat(64), kind: "read", label: "", appId },
  },
  { role: "admin", method: "GET", path: adminPaths.digests },
];

describe.each(drivers)("caller roles on %s", (kind) => {
  const t = useTestRegion(kind);
  let readKey: string;
  beforeAll(async () => {
    readKey = await readKeyFor(t.region, appId);
  });

  const appOf = (role: CallerRole) => (role === "admin" ? t.region.adminApp : t.region.app);
  const errorOf = async (response: Response) => ({
    status: response.status,
    ...((await response.json()) as { error: { code: string; message: string } }).error,
  });

  it.each(routes)("$method $path answers only calls signed as $role", async (route) => {
    for (const role of callerRoles.filter((other) => other !== route.role)) {
      // The other role's own, valid secret: a leaked edge secret signs no peer or admin call.
      const response = await signedRequest(appOf(route.role), route.method, route.path, {
        json: route.json,
        role,
        appKey: readKey,
      });
      expect(await errorOf(response), role).toMatchObject({
        status: 401,
        code: "UNAUTHORIZED",
        message: "bad signature",
      });
    }
    const right = await signedRequest(appOf(route.role), route.method, route.path, {
      json: route.json,
      role: route.role,
      appKey: readKey,
    });
    // Past the guard: answered by the route itself (an empty replicate call is a 400 of its own).
    expect(right.status).not.toBe(401);
    expect(right.status).toBeLessThan(500);
  });

  it.each(callerRoles)(
    "refuses a %s call signed for another region (401), even with the right secret",
    async (role) => {
      const route = routes.find((candidate) => candidate.role === role && candidate.method === "GET") as Route;
      const response = await signedRequest(appOf(role), "GET", route.path, {
        role,
        audience: "us-east",
        appKey: readKey,
      });
      expect(await errorOf(response)).toMatchObject({
        status: 401,
        code: "UNAUTHORIZED",
        message: 'wrong audience: the call is signed for "us-east", this region is eu-west',
      });
    },
  );

  it("serves admin routes on the admin listener only, and edge or peer routes never there", async () => {
    for (const route of routes) {
      const other = route.role === "admin" ? t.region.app : t.region.adminApp;
      const response = await signedRequest(other, route.method, route.path, { json: route.json, role: route.role });
      expect(await errorOf(response), `${route.method} ${route.path}`).toMatchObject({
        status: 404,
        code: "NOT_FOUND",
      });
    }
    // Where the admin routes were before they moved to their own listener.
    for (const [method, path] of [
      ["GET", "/internal/v1/apps"],
      ["PUT", `/internal/v1/apps/${appId}`],
      ["GET", `/internal/v1/apps/${appId}/keys`],
      ["POST", "/internal/v1/keys/revoke"],
    ] as const) {
      const response = await signedRequest(t.region.app, method, path, {
        role: "admin",
        json: method === "GET" ? undefined : {},
      });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
  });

  describe("reads need a live read key of the app, checked by the region itself", () => {
    const read = (path: string, appKey?: string) => signedRequest(t.region.app, "GET", path, { appKey });

    it("reads nothing with a valid edge signature alone", async () => {
      const stranger = testAppId();
      const otherRead = await readKeyFor(t.region, stranger);
      const ingest = await mintKey(testKeySecret, appId, "ingest");
      const manage = await mintKey(testKeySecret, appId, "manage");
      await adminRequest(t.region, "PUT", adminPaths.app(appId), {
        json: {
          name: "roles",
          keys: [
            { hash: await keyHash(ingest), kind: "ingest", label: keyLabel(ingest) },
            { hash: await keyHash(manage), kind: "manage", label: keyLabel(manage) },
          ],
        },
      });
      const unregistered = await mintKey(testKeySecret, appId, "read");
      for (const path of [internalPaths.logs(appId), internalPaths.devices(appId)]) {
        for (const [what, key] of [
          ["no key", undefined],
          ["another app's read key", otherRead],
          ["a well-formed read key this region never registered", unregistered],
          ["not a key at all", "sl_read_guess"],
        ] as const) {
          expect(await errorOf(await read(path, key)), `${path}: ${what}`).toMatchObject({
            status: 401,
            code: "APP_KEY_REJECTED",
          });
        }
        // A live key of the app that may not read: forbidden, as the edge answers it.
        expect(await errorOf(await read(path, ingest)), `${path}: the app's ingest key`).toMatchObject({
          status: 403,
          code: "FORBIDDEN",
        });
        expect((await read(path, readKey)).status).toBe(200);
        // A manage key reads too (it may also change settings and erase).
        expect((await read(path, manage)).status).toBe(200);
      }
    });

    it("refuses a read key revoked here, whatever the edge's cache says", async () => {
      const app = testAppId();
      const key = await readKeyFor(t.region, app);
      expect((await read(internalPaths.logs(app), key)).status).toBe(200);
      const revoke = await adminRequest(t.region, "POST", adminPaths.revokeKey, {
        json: { hash: await keyHash(key), kind: "read", label: keyLabel(key), appId: app },
      });
      expect(revoke.status).toBe(200);
      for (const path of [internalPaths.logs(app), internalPaths.devices(app)]) {
        expect(await errorOf(await read(path, key))).toMatchObject({
          status: 401,
          code: "APP_KEY_REJECTED",
          message: "app key has been revoked",
        });
      }
    });
  });

  describe("bodies: the signature first, then each route's own cap", () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    /** A body of `bytesMax` + 1 MiB or more, produced only as fast as it is read. */
    function counted(bytesMax: number) {
      const state = { sent: 0 };
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (state.sent > bytesMax) controller.close();
          else controller.enqueue(chunk);
          state.sent += chunk.byteLength;
        },
      });
      return { body, state };
    }

    it.each([
      ["an upload", internalPaths.batches(appId), "edge", "POST", limits.inflatedBytesMax],
      ["a replicate call", internalPaths.replicate, "peer", "POST", replicateBodyBytesMax],
      ["a sync call", internalPaths.syncEntries, "peer", "POST", controlBodyBytesMax],
      ["an app registration", adminPaths.app(appId), "admin", "PUT", controlBodyBytesMax],
      ["a revocation", adminPaths.revokeKey, "admin", "POST", controlBodyBytesMax],
    ] as const)("%s past its cap is 413, read no further than the cap", async (_name, path, role, method, bytesMax) => {
      const { body, state } = counted(bytesMax);
      const signature = await signRequest(
        { role, secret: testSecrets[role], audience: "eu-west" },
        { method, pathAndQuery: path, body: "" },
      );
      const response = await appOf(role).request(path, {
        method,
        headers: { ...signature, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      expect(await errorOf(response)).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
      // This route's own cap, neither a smaller nor a larger one, cut the stream off.
      expect(state.sent).toBeGreaterThan(bytesMax);
      expect(state.sent).toBeLessThanOrEqual(bytesMax + 2 * chunk.byteLength);
    });

    it("caps sync and admin bodies far below an upload's", () => {
      expect(controlBodyBytesMax).toBeLessThanOrEqual(limits.inflatedBytesMax / 16);
    });

    it("refuses an unsigned or wrongly signed 5 MiB upload without reading its body", async () => {
      const quiet = testAppId();
      const path = internalPaths.batches(quiet);
      const wrong = await signRequest(
        { role: "edge", secret: "not-the-edge-secret-0123456789abcdef", audience: "eu-west" },
        { method: "POST", pathAndQuery: path, body: "" },
      );
      for (const headers of [{}, wrong]) {
        const { body, state } = counted(limits.inflatedBytesMax);
        const response = await t.region.app.request(path, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit);
        expect(response.status).toBe(401);
        // At most what the stream buffers ahead by itself: nothing was read.
        expect(state.sent).toBeLessThanOrEqual(chunk.byteLength);
      }
      expect(await storedCounts(t.region.database.db, quiet)).toEqual({ batches: 0, devices: 0 });
    });

    describe("over a real socket", () => {
      let server: Server;
      let port: number;
      beforeAll(async () => {
        server = createAdaptorServer({ fetch: (req: Request) => t.region.app.fetch(req) }) as Server;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        port = (server.address() as AddressInfo).port;
      });
      afterAll(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });

      it("answers 401 to a wrongly signed upload whose body never ends", async () => {
        const path = internalPaths.batches(appId);
        const wrong = await signRequest(
          { role: "peer", secret: testSecrets.peer, audience: "eu-west" },
          { method: "POST", pathAndQuery: path, body: "" },
        );
        const req = request({
          host: "127.0.0.1",
          port,
          path,
          method: "POST",
          headers: { ...wrong, "content-type": "application/json", "content-length": String(limits.inflatedBytesMax) },
        });
        const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
          req.on("response", (res) => {
            let text = "";
            res.on("data", (data) => {
              text += data;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          });
          req.on("error", reject);
        });
        // 64 KiB of a declared 5 MiB, and then nothing more, ever: only the headers can decide.
        req.write(chunk.subarray(0, 64 * 1024));
        const { status, text } = await answered;
        req.destroy();
        expect(status).toBe(401);
        expect(JSON.parse(text)).toMatchObject({ error: { code: "UNAUTHORIZED", message: "bad signature" } });
      });
    });
  });
});
