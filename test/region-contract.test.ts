/**
 * The region's HTTP contract as the edge uses it, run on two drivers (drizzle's habit: one suite,
 * every driver): the stand-in region the edge tests route to (edge/testing/region-stub.ts) and a
 * real region (regional/region.ts on migrated PGlite, served over real HTTP). Both are called
 * exactly as the edge calls a region: signed as the edge with shared/signed-fetch.ts. What the
 * stub answers and the real region does not (or the other way round) fails here, so the edge's
 * tests cannot drift onto a region that does not exist.
 *
 * Covered: signed batch upload (202 receipt, duplicate, 409 conflict, 400 on a bad body, 401 on a
 * bad signature), the unsigned health probe, reads of logs and devices with a read key (401
 * APP_KEY_REJECTED otherwise), the revoked key list, and the error body every refusal carries.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { testKeySecret as stubKeySecret, testEdgeSecret } from "../edge/testing/fixtures.ts";
import { type RunningStub, type StubWorld, startStub } from "../edge/testing/region-stub.ts";
import { makeBatch } from "../regional/testing/fixtures.ts";
import {
  createTestDatabase,
  readKeyFor,
  startTestRegion,
  type TestDatabase,
  testKeySecret,
  testSecrets,
} from "../regional/testing/harness.ts";
import type { Batch } from "../shared/batch.ts";
import { deviceSettingAnswerSchema, deviceSettingsListSchema } from "../shared/device-settings.ts";
import { errorCodes } from "../shared/errors.ts";
import { keyHash, keyLabel, mintKey, newAppId } from "../shared/keys.ts";
import { devicePageSchema, logPageSchema } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";

/** A region under test, reached over HTTP, and what a test needs to set it up as the admin CLI would. */
type RegionDriver = {
  name: string;
  url: string;
  edgeSecret: string;
  /** A fresh app the region knows, with a live read key and an ingest key (which reads nothing). */
  newApp(): Promise<{ appId: string; readKey: string; ingestKey: string; manageKey: string }>;
  /** Revokes a key in the region, as `npm run admin keys revoke` does. */
  revoke(appId: string, key: string): Promise<void>;
  close(): Promise<void>;
};

const stubDriver = async (): Promise<RegionDriver> => {
  const world: StubWorld = {
    received: [],
    revokedKeyHashes: new Set(),
    edgeSecret: testEdgeSecret,
    keySecret: stubKeySecret,
    spawned: [],
  };
  const stub: RunningStub = await startStub(world, "eu-west", "region");
  return {
    name: "eu-west",
    url: stub.url,
    edgeSecret: testEdgeSecret,
    async newApp() {
      const appId = newAppId();
      return {
        appId,
        readKey: await mintKey(stubKeySecret, appId, "read"),
        ingestKey: await mintKey(stubKeySecret, appId, "ingest"),
        manageKey: await mintKey(stubKeySecret, appId, "manage"),
      };
    },
    async revoke(_appId, key) {
      world.revokedKeyHashes.add(await keyHash(key));
    },
    close: () => stub.close(),
  };
};

const realDriver = async (): Promise<RegionDriver> => {
  const database: TestDatabase = await createTestDatabase("pglite");
  const region = await startTestRegion(database, { region: "eu-west" });
  const server = createAdaptorServer({ fetch: region.app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    name: "eu-west",
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    edgeSecret: testSecrets.edge,
    async newApp() {
      const appId = newAppId();
      const readKey = await readKeyFor(region, appId);
      // Registered as `admin apps create` registers it: a live key of the app, of another kind.
      const ingestKey = await mintKey(testKeySecret, appId, "ingest");
      await region.store.addKey(appId, { hash: await keyHash(ingestKey), kind: "ingest", label: keyLabel(ingestKey) });
      const manageKey = await mintKey(testKeySecret, appId, "manage");
      await region.store.addKey(appId, { hash: await keyHash(manageKey), kind: "manage", label: keyLabel(manageKey) });
      return { appId, readKey, ingestKey, manageKey };
    },
    async revoke(appId, key) {
      await region.store.revokeKey({ appId, hash: await keyHash(key), kind: "read", label: keyLabel(key) });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await region.close();
      await database.drop();
    },
  };
};

// The answers' shapes, strict: a field one side has and the other lacks fails the suite.
const errorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.enum(errorCodes), message: z.string().min(1), requestId: z.string() }),
});
const receiptSchema = z.strictObject({
  batchId: z.string(),
  region: z.string(),
  regions: z.array(z.string()).min(1),
  accepted: z.number().int(),
  duplicate: z.boolean(),
});
const healthSchema = z.strictObject({
  region: z.string(),
  status: z.enum(["up", "degraded", "draining"]),
  database: z.strictObject({ kind: z.enum(["pglite", "postgres"]), ok: z.boolean() }),
  inFlight: z.number().int(),
  ackQuorum: z.number().int(),
  peers: z.array(z.unknown()),
});
const revokedSchema = z.strictObject({ keyHashes: z.array(z.string()) });

function contractTests(label: string, start: () => Promise<RegionDriver>) {
  describe(`the region contract: ${label}`, () => {
    let region: RegionDriver;
    beforeAll(async () => {
      region = await start();
    });
    afterAll(async () => {
      await region?.close();
    });

    /** A call as the edge makes it: signed as the edge, for this region, with a request id. */
    async function call(
      method: "GET" | "POST" | "PUT",
      pathAndQuery: string,
      options: { body?: string; appKey?: string; secret?: string } = {},
    ): Promise<{ status: number; json: unknown; requestId: string }> {
      const requestId = `contract-${crypto.randomUUID()}`;
      const sent = await signedFetch({
        signer: { role: "edge", secret: options.secret ?? region.edgeSecret, audience: region.name },
        baseUrl: region.url,
        method,
        pathAndQuery,
        body: options.body,
        appKey: options.appKey,
        requestId,
        timeoutMs: 10_000,
      });
      if (!sent.ok) throw new Error(sent.error.message);
      return { status: sent.value.status, json: await sent.value.json(), requestId };
    }

    const upload = (appId: string, batch: Batch | string) =>
      call("POST", internalPaths.batches(appId), { body: typeof batch === "string" ? batch : JSON.stringify(batch) });

    const expectError = (
      answer: { status: number; json: unknown; requestId: string },
      status: number,
      code: string,
    ) => {
      expect(answer.status).toBe(status);
      const { error } = errorBodySchema.parse(answer.json);
      expect(error.code).toBe(code);
      expect(error.requestId).toBe(answer.requestId);
    };

    const sampleBatch = () =>
      makeBatch({
        deviceId: `device-${crypto.randomUUID()}`,
        device: { model: "Pixel 9", appVersion: "1.2.3" },
        lines: [
          { ts: Date.UTC(2026, 4, 1, 10), level: "info", tag: "sync", text: "first", attrs: { a: 1 } },
          { ts: Date.UTC(2026, 4, 1, 10, 0, 1), level: "error", text: "second" },
        ],
      });

    it("answers a stored batch with a 202 receipt naming itself, and a repeat as a duplicate", async () => {
      const { appId } = await region.newApp();
      const batch = sampleBatch();
      const first = await upload(appId, batch);
      expect(first.status).toBe(202);
      expect(receiptSchema.parse(first.json)).toEqual({
        batchId: batch.batchId,
        region: region.name,
        regions: [region.name],
        accepted: 2,
        duplicate: false,
      });
      const again = await upload(appId, batch);
      expect(again.status).toBe(202);
      expect(receiptSchema.parse(again.json)).toMatchObject({ batchId: batch.batchId, duplicate: true });
    });

    it("refuses other content under a stored batch id with 409 BATCH_CONFLICT", async () => {
      const { appId } = await region.newApp();
      const batch = sampleBatch();
      expect((await upload(appId, batch)).status).toBe(202);
      const other = { ...batch, logs: batch.logs.map((line) => ({ ...line, text: "other" })) };
      expectError(await upload(appId, other), 409, "BATCH_CONFLICT");
    });

    it("refuses a body that is not a batch with 400 INVALID_BODY", async () => {
      const { appId } = await region.newApp();
      expectError(await upload(appId, "{not json"), 400, "INVALID_BODY");
      expectError(await upload(appId, JSON.stringify({ batchId: "short", device: {}, logs: [] })), 400, "INVALID_BODY");
    });

    it("refuses a call not signed with the edge's secret with 401 UNAUTHORIZED", async () => {
      const { appId } = await region.newApp();
      const forged = await call("POST", internalPaths.batches(appId), {
        body: JSON.stringify(sampleBatch()),
        secret: "not-the-edge-secret-0123456789abcdef0123",
      });
      expectError(forged, 401, "UNAUTHORIZED");
    });

    it("answers the unsigned health probe with its name and status", async () => {
      const response = await fetch(`${region.url}/v1/health`);
      expect(response.status).toBe(200);
      expect(healthSchema.parse(await response.json())).toMatchObject({
        region: region.name,
        status: "up",
        database: { ok: true },
      });
    });

    it("serves an app's logs and devices to its read key", async () => {
      const { appId, readKey } = await region.newApp();
      const batch = sampleBatch();
      expect((await upload(appId, batch)).status).toBe(202);

      const logs = await call("GET", internalPaths.logs(appId), { appKey: readKey });
      expect(logs.status).toBe(200);
      const page = logPageSchema.parse(logs.json);
      expect(page).toEqual({
        logs: [
          {
            ts: "2026-05-01T10:00:00.000Z",
            deviceId: batch.device.id,
            batchId: batch.batchId,
            index: 0,
            level: "info",
            tag: "sync",
            text: "first",
            attrs: { a: 1 },
          },
          {
            ts: "2026-05-01T10:00:01.000Z",
            deviceId: batch.device.id,
            batchId: batch.batchId,
            index: 1,
            level: "error",
            text: "second",
          },
        ],
        nextCursor: null,
        prevCursor: null,
        integrityErrors: [],
      });

      const devices = await call("GET", internalPaths.devices(appId), { appKey: readKey });
      expect(devices.status).toBe(200);
      expect(devicePageSchema.parse(devices.json).devices).toEqual([
        expect.objectContaining({
          id: batch.device.id,
          model: "Pixel 9",
          appVersion: "1.2.3",
          locale: null,
          counts: { trace: 0, debug: 0, info: 1, warn: 0, error: 1, fatal: 0 },
        }),
      ]);
    });

    it("refuses reads without a live read key of the app: 401 APP_KEY_REJECTED, 403 for its ingest key", async () => {
      const { appId, readKey, ingestKey } = await region.newApp();
      const other = await region.newApp();
      for (const path of [internalPaths.logs(appId), internalPaths.devices(appId)]) {
        expectError(await call("GET", path), 401, "APP_KEY_REJECTED");
        expectError(await call("GET", path, { appKey: ingestKey }), 403, "FORBIDDEN");
        expectError(await call("GET", path, { appKey: other.readKey }), 401, "APP_KEY_REJECTED");
        expect((await call("GET", path, { appKey: readKey })).status).toBe(200);
      }
      await region.revoke(appId, readKey);
      expectError(await call("GET", internalPaths.logs(appId), { appKey: readKey }), 401, "APP_KEY_REJECTED");
    });

    it("keeps the latest remote logging setting per scope, set with a manage key, listed for any key", async () => {
      const { appId, ingestKey, manageKey } = await region.newApp();
      const path = internalPaths.deviceSettings(appId);
      const setting = { scope: "device", value: "d1", enabled: false, minLevel: "warn" };
      const change = (updatedAt: number, key = manageKey, extra = {}) =>
        call("PUT", path, {
          appKey: key,
          body: JSON.stringify({ ...setting, ...extra, updatedAt: new Date(updatedAt).toISOString() }),
        });
      expect(deviceSettingsListSchema.strict().parse((await call("GET", path, { appKey: ingestKey })).json)).toEqual({
        settings: [],
      });
      expectError(await change(2000, ingestKey), 403, "FORBIDDEN");
      const stored = await change(2000);
      expect(stored.status).toBe(200);
      expect(deviceSettingAnswerSchema.strict().parse(stored.json)).toEqual({
        setting: { ...setting, updatedAt: 2000 },
      });
      const older = await change(1000, manageKey, { enabled: true });
      expect(deviceSettingAnswerSchema.parse(older.json).setting.enabled).toBe(false);
      const listed = await call("GET", path, { appKey: ingestKey });
      expect(deviceSettingsListSchema.parse(listed.json).settings).toEqual([{ ...setting, updatedAt: 2000 }]);
    });

    it("lists revoked keys by hash", async () => {
      const { appId, readKey } = await region.newApp();
      const before = revokedSchema.parse((await call("GET", internalPaths.revokedKeys)).json);
      expect(before.keyHashes).not.toContain(await keyHash(readKey));
      await region.revoke(appId, readKey);
      const after = await call("GET", internalPaths.revokedKeys);
      expect(after.status).toBe(200);
      expect(revokedSchema.parse(after.json).keyHashes).toContain(await keyHash(readKey));
    });

    it("answers an unknown internal path with 404 NOT_FOUND", async () => {
      expectError(await call("GET", "/internal/v1/nothing-here"), 404, "NOT_FOUND");
    });
  });
}

contractTests("the edge tests' stand-in (region-stub.ts)", stubDriver);
contractTests("a real region on PGlite", realDriver);
