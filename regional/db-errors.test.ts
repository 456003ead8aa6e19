// Database errors on both drivers: one caused by the request's data is a 400 with a code, any
// other stays a 500, and the log names the error's type and SQLSTATE but never the query, its
// parameters (device ids, wrapped keys, ciphertext) or the database's own message.

import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { systemClock } from "../shared/clock.ts";
import { ok } from "../shared/result.ts";
import { NonceCache } from "../shared/signing.ts";
import { createRegionApp } from "./app.ts";
import { databaseFailure } from "./db/errors.ts";
import { createLogger, serializeError } from "./log.ts";
import type { BatchStore } from "./store/types.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, testSecrets, useTestRegion } from "./testing/harness.ts";

const marker = "device-marker-7f3a";

describe.each(drivers)("database errors on %s", (kind) => {
  const t = useTestRegion(kind);
  const appId = testAppId();
  // Validation refuses this batch; the store itself does not, so the database sees the NUL.
  const unstorable = makeBatch({ deviceId: `${marker}\u0000`, lines: [{ ts: baseTs, text: "sealed line" }] });

  /** The region's app with its devices list replaced by `devices`, logging into `lines`. */
  function appWith(devices: BatchStore["devices"]) {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", region: "eu-west" }, { write: (line: string) => lines.push(line) });
    const app = createRegionApp({
      region: "eu-west",
      secrets: testSecrets,
      store: { ...t.region.store, devices },
      replicas: t.region.replicas,
      replicator: t.region.replicator,
      webhooks: t.region.webhookStore,
      metrics: t.region.metrics,
      database: t.region.database,
      nonces: new NonceCache(),
      lifecycle: { draining: false, inFlight: 0 },
      admission: t.region.admission,
      logSampleEvery: 1,
      logger,
      clock: systemClock,
    });
    return { app, lines };
  }

  it("tells a data exception (SQLSTATE class 22) from other database errors", async () => {
    const dataError = await t.region.store.put(appId, unstorable).catch((error: unknown) => error);
    expect(databaseFailure(dataError)).toMatchObject({ sqlState: "22021", causedBy: "data", driver: kind });
    const missing = await t.region.database.db.execute(sql`select * from no_such_table`).catch((error) => error);
    expect(databaseFailure(missing)).toMatchObject({ sqlState: "42P01", causedBy: "database" });
    expect(databaseFailure(new Error("not from a database"))).toBeNull();
  });

  it("answers a database error caused by the request's data with 400 and a code", async () => {
    const { app, lines } = appWith(async () => {
      await t.region.store.put(appId, unstorable);
      return ok({ devices: [], nextCursor: null });
    });
    const response = await signedRequest(app, "GET", `/internal/v1/apps/${appId}/devices`, {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: "BAD_REQUEST", message: expect.stringContaining("SQLSTATE 22021") },
    });
    const logged = lines.map((line) => JSON.parse(line)).find((line) => line.err);
    expect(logged.err).toMatchObject({ sqlState: "22021", message: "data exception (SQLSTATE 22021)" });
  });

  it("keeps every other database error a 500 INTERNAL", async () => {
    const { app } = appWith(async () => {
      await t.region.database.db.execute(sql`select * from no_such_table`);
      return ok({ devices: [], nextCursor: null });
    });
    const response = await signedRequest(app, "GET", `/internal/v1/apps/${appId}/devices`, {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "INTERNAL", message: "internal error" } });
  });

  it("logs an error's type and SQLSTATE, never the query, its parameters or the database's message", async () => {
    const error = (await t.region.store.put(appId, unstorable).catch((caught: unknown) => caught)) as Error;
    // What would leak: drizzle's message carries the query and every parameter.
    expect(error.message).toContain("params:");
    expect(error.message).toContain(marker);

    const { app, lines } = appWith(async () => {
      throw error;
    });
    await signedRequest(app, "GET", `/internal/v1/apps/${appId}/devices`, {
      appKey: await readKeyFor(t.region, appId),
    });
    const output = lines.join("\n");
    expect(output).toContain('"sqlState":"22021"');
    expect(output).toContain(
      kind === "postgres" ? "DrizzleQueryError(PostgresError)" : "DrizzleQueryError(PGliteDatabaseError)",
    );
    for (const secret of [marker, "params", "insert into", "Failed query", "wrapped_key", "sealed line", "UTF8"]) {
      expect(output).not.toContain(secret);
    }
  });

  it("keeps the message and stack of errors that are not the database's", () => {
    const serialized = serializeError(new TypeError("x is not a function", { cause: new Error("below") }));
    expect(serialized).toMatchObject({
      type: "TypeError",
      message: "x is not a function",
      stack: expect.stringContaining("TypeError"),
      cause: { type: "Error", message: "below" },
    });
  });
});
