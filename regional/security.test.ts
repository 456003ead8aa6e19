// What a region must refuse or never reveal: calls that are not signed, or signed wrongly, late or
// twice; log text in clear anywhere in storage; and batches lost when the key-encryption key rotates.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import postgres from "postgres";
import { beforeAll, describe, expect, it } from "vitest";
import { parseBatch } from "../shared/batch.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import type { LogPage } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signatureWindowMs, signRequest } from "../shared/signing.ts";
import { batches } from "./db/schema/index.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import {
  drivers,
  readKeyFor,
  signedRequest,
  startTestRegion,
  testAppId,
  testKeyring,
  testSecrets,
  useTestRegion,
} from "./testing/harness.ts";

describe.each(drivers)("region security on %s", (kind) => {
  const appId = testAppId();
  const k1 = generateKeyMaterial();
  const k2 = generateKeyMaterial();

  const t = useTestRegion(kind, { keyring: testKeyring("k1", { k1 }) });

  async function reopen(keyring: { active: string; keys: Record<string, string> }) {
    await t.region.close();
    t.region = await startTestRegion(t.database, { keyring });
  }

  async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    return { status: response.status, ...body.error };
  }

  describe("signed internal calls", () => {
    const path = internalPaths.logs(appId);
    const edge = { role: "edge" as const, secret: testSecrets.edge, audience: "eu-west" };
    let readKey: string;
    beforeAll(async () => {
      readKey = await readKeyFor(t.region, appId);
    });
    const signed = (pathAndQuery: string, options: { secret?: string; nowMs?: number; body?: string } = {}) =>
      signRequest(
        { ...edge, secret: options.secret ?? edge.secret },
        { method: "GET", pathAndQuery, body: options.body ?? "", appKey: readKey },
        options.nowMs,
      );

    it("accepts a well-signed call", async () => {
      expect((await t.region.app.request(path, { headers: await signed(path) })).status).toBe(200);
    });

    it.each([
      ["unsigned", {}, "unsigned"],
      [
        "missing the nonce",
        { "x-stormlog-timestamp": String(Date.now()), "x-stormlog-signature": "v1=00" },
        "unsigned",
      ],
    ])("refuses a call %s", async (_name, headers, message) => {
      expect(await errorOf(await t.region.app.request(path, { headers }))).toMatchObject({
        status: 401,
        code: "UNAUTHORIZED",
        message: expect.stringContaining(message),
      });
    });

    it("refuses a call signed with another secret, or for another path, query, method or body", async () => {
      const forged = [
        [path, await signed(path, { secret: "another-secret-0123456789abcdef0123" })],
        [internalPaths.logs(testAppId()), await signed(path)],
        [`${path}?limit=2`, await signed(`${path}?limit=1`)],
        [path, await signed(path, { body: '{"a":1}' })],
      ] as const;
      for (const [target, headers] of forged) {
        expect(await errorOf(await t.region.app.request(target, { headers }))).toEqual({
          status: 401,
          code: "UNAUTHORIZED",
          message: "bad signature",
          requestId: expect.any(String),
        });
      }
      // Signed as a GET, sent as a POST to the same path.
      const signedGet = await signed(internalPaths.batches(appId));
      const asPut = await t.region.app.request(internalPaths.batches(appId), { method: "POST", headers: signedGet });
      expect(asPut.status).toBe(401);
      const batch = makeBatch({ lines: [{ ts: baseTs }] });
      const bodyHeaders = await signRequest(edge, {
        method: "POST",
        pathAndQuery: internalPaths.batches(appId),
        body: JSON.stringify(batch),
      });
      const swapped = await t.region.app.request(internalPaths.batches(appId), {
        method: "POST",
        headers: { ...bodyHeaders, "content-type": "application/json" },
        body: JSON.stringify({ ...batch, batchId: "swapped-batch-id" }),
      });
      expect(await errorOf(swapped)).toMatchObject({ status: 401, message: "bad signature" });
    });

    it("refuses a call signed outside the freshness window, either side", async () => {
      for (const skewMs of [-signatureWindowMs - 5_000, signatureWindowMs + 5_000]) {
        const headers = await signed(path, { nowMs: Date.now() + skewMs });
        expect(await errorOf(await t.region.app.request(path, { headers }))).toMatchObject({
          status: 401,
          message: expect.stringContaining("stale"),
        });
      }
    });

    it("refuses a replayed call, even a valid upload", async () => {
      const body = JSON.stringify(makeBatch({ lines: [{ ts: baseTs }] }));
      const headers = {
        ...(await signRequest(edge, { method: "POST", pathAndQuery: internalPaths.batches(appId), body })),
        "content-type": "application/json",
      };
      const send = () => t.region.app.request(internalPaths.batches(appId), { method: "POST", headers, body });
      expect((await send()).status).toBe(202);
      expect(await errorOf(await send())).toMatchObject({ status: 401, message: expect.stringContaining("replayed") });
    });
  });

  describe("encryption at rest", () => {
    const marker = `stormlog-marker-${generateKeyMaterial().replace(/[^A-Za-z0-9]/g, "")}`;
    const batch = parseBatch(
      makeBatch({
        batchId: "marker-batch-1",
        deviceId: "marker-device",
        lines: [{ ts: baseTs, text: `the ${marker} line` }],
      }),
    );

    it("never writes log text to storage in clear", async () => {
      const response = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), { json: batch });
      expect(response.status).toBe(202);
      const appKey = await readKeyFor(t.region, appId);
      const read = await signedRequest(t.region.app, "GET", internalPaths.logs(appId), { appKey });
      const page = (await read.json()) as LogPage;
      expect(page.logs.map((line) => line.text)).toContain(`the ${marker} line`);

      const stored = kind === "pglite" ? await pgliteFiles() : await postgresDump();
      // The scan does see what is stored in clear: the batch id and device id.
      expect(stored.includes("marker-batch-1")).toBe(true);
      expect(stored.includes("marker-device")).toBe(true);
      expect(stored.includes(marker)).toBe(false);
      expect(stored.includes(Buffer.from(marker).toString("hex"))).toBe(false);
    });

    /** Every byte of the PGlite folder, read after closing the database so everything is flushed. */
    async function pgliteFiles(): Promise<Buffer> {
      await t.region.close();
      const files = (await readdir(t.database.dataDir, { recursive: true, withFileTypes: true })).filter((entry) =>
        entry.isFile(),
      );
      const contents = await Promise.all(files.map((entry) => readFile(path.join(entry.parentPath, entry.name))));
      t.region = await startTestRegion(t.database, { keyring: testKeyring("k1", { k1 }) });
      return Buffer.concat(contents);
    }

    /** Every row of every table (the region's and drizzle's), as text. */
    async function postgresDump(): Promise<Buffer> {
      const client = postgres(t.database.databaseUrl as string, { max: 1, onnotice: () => undefined });
      try {
        const tables = await client`select table_schema, table_name from information_schema.tables
          where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'`;
        expect(tables.map((table) => table.table_name)).toEqual(expect.arrayContaining(["batches", "devices"]));
        const dumps = [];
        for (const { table_schema, table_name } of tables) {
          const rows = await client`select t::text as row from ${client(table_schema)}.${client(table_name)} t`;
          dumps.push(...rows.map((row) => row.row as string));
        }
        return Buffer.from(dumps.join("\n"));
      } finally {
        await client.end();
      }
    }
  });

  describe("key rotation", () => {
    const readTexts = async () => {
      const appKey = await readKeyFor(t.region, rotationApp);
      const response = await signedRequest(t.region.app, "GET", `${internalPaths.logs(rotationApp)}?limit=1000`, {
        appKey,
      });
      return (await response.json()) as LogPage;
    };
    const rotationApp = testAppId();
    const keyIdOf = async (batchId: string) => {
      const [row] = await t.region.database.db
        .select({ keyId: batches.keyId })
        .from(batches)
        .where(and(eq(batches.appId, rotationApp), eq(batches.batchId, batchId)));
      return row?.keyId;
    };

    it("still reads batches sealed under k1 after k2 becomes active, and needs k1 no more once it is", async () => {
      const old = makeBatch({ batchId: "sealed-by-k1", lines: [{ ts: baseTs, text: "under k1" }] });
      expect(
        (await signedRequest(t.region.app, "POST", internalPaths.batches(rotationApp), { json: old })).status,
      ).toBe(202);
      // Sealed under its device's key (format 3), whose app key the keyring wraps.
      expect(await keyIdOf("sealed-by-k1")).toMatch(/^dk_/);

      await reopen({ active: "k2", keys: { k1, k2 } });
      const recent = makeBatch({ batchId: "sealed-by-k2", lines: [{ ts: baseTs + 1, text: "under k2" }] });
      expect(
        (await signedRequest(t.region.app, "POST", internalPaths.batches(rotationApp), { json: recent })).status,
      ).toBe(202);
      // A repeat of the old batch is still recognised as a duplicate under the new active key.
      const repeat = await signedRequest(t.region.app, "POST", internalPaths.batches(rotationApp), { json: old });
      expect(await repeat.json()).toMatchObject({ duplicate: true });
      const page = await readTexts();
      expect(page.logs.map((line) => line.text)).toEqual(["under k1", "under k2"]);
      expect(page.integrityErrors).toEqual([]);

      // The boot under k2 wrapped the app key again under k2: k1 can leave the keyring.
      await reopen({ active: "k2", keys: { k2 } });
      const withoutK1 = await readTexts();
      expect(withoutK1.logs.map((line) => line.text)).toEqual(["under k1", "under k2"]);
      expect(withoutK1.integrityErrors).toEqual([]);

      // Without the key that wraps the app key, nothing of the app opens, and reads say which key.
      await reopen({ active: "k3", keys: { k3: generateKeyMaterial() } });
      const withoutK2 = await readTexts();
      expect(withoutK2.logs).toEqual([]);
      expect(withoutK2.integrityErrors).toHaveLength(2);
    });
  });
});
