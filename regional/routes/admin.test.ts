// The admin surface the CLI uses (on the admin listener): apps and key hashes registered
// idempotently, revocations recorded even for keys a region never saw, and bad bodies refused.
import { describe, expect, it } from "vitest";
import { keyHash, mintKey } from "../../shared/keys.ts";
import { adminPaths, internalPaths } from "../../shared/regions.ts";
import type { AppRecord, KeyRecord } from "../store/types.ts";
import { adminRequest, drivers, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

const keySecret = "admin-test-key-secret-0123456789abcdef";

async function newKey(appId: string, kind: "ingest" | "read" | "manage") {
  const key = await mintKey(keySecret, appId, kind);
  return { hash: await keyHash(key), kind, label: `${kind} key` };
}

describe.each(drivers)("admin routes on %s", (kind) => {
  const t = useTestRegion(kind);

  const call = async <T>(method: "GET" | "POST" | "PUT", path: string, json?: unknown) => {
    const response = await adminRequest(t.region, method, path, json === undefined ? {} : { json });
    return { status: response.status, body: (await response.json()) as T };
  };

  it("registers an app with its keys, and registering again is harmless", async () => {
    const appId = testAppId();
    const ingest = await newKey(appId, "ingest");
    const read = await newKey(appId, "read");
    const first = await call<{ app: AppRecord }>("PUT", adminPaths.app(appId), { name: "Demo", keys: [ingest] });
    expect(first).toEqual({
      status: 200,
      body: { app: { id: appId, name: "Demo", createdAt: expect.any(String), retentionDays: 30 } },
    });

    const again = await call<{ app: AppRecord }>("PUT", adminPaths.app(appId), {
      name: "Demo renamed",
      keys: [{ ...ingest, label: "relabelled" }, read],
    });
    expect(again.body.app).toEqual({ ...first.body.app, name: "Demo renamed" });

    const keys = await call<{ keys: KeyRecord[] }>("GET", adminPaths.appKeys(appId));
    expect(keys.status).toBe(200);
    expect(keys.body.keys).toHaveLength(2);
    expect(keys.body.keys).toEqual(
      expect.arrayContaining([
        { ...ingest, createdAt: expect.any(String), revokedAt: null },
        { ...read, createdAt: expect.any(String), revokedAt: null },
      ]),
    );

    const apps = await call<{ apps: AppRecord[] }>("GET", adminPaths.apps);
    expect(apps.body.apps).toContainEqual(again.body.app);
  });

  it("adds a key of any kind to a known app (again is harmless), and 404 for an unknown app", async () => {
    const appId = testAppId();
    await call("PUT", adminPaths.app(appId), { name: "Keys", keys: [await newKey(appId, "ingest")] });
    const manage = await newKey(appId, "manage");
    const added = await call<{ key: KeyRecord }>("POST", adminPaths.appKeys(appId), manage);
    expect(added).toEqual({
      status: 200,
      body: { key: { ...manage, createdAt: expect.any(String), revokedAt: null } },
    });
    expect((await call("POST", adminPaths.appKeys(appId), manage)).body).toEqual(added.body);
    const keys = await call<{ keys: KeyRecord[] }>("GET", adminPaths.appKeys(appId));
    expect(keys.body.keys.map((key) => key.kind).sort()).toEqual(["ingest", "manage"]);
    const unknown = await call("POST", adminPaths.appKeys(testAppId()), manage);
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
  });

  it("answers 404 for the keys of an unknown app", async () => {
    const response = await call<{ error: { code: string } }>("GET", adminPaths.appKeys(testAppId()));
    expect(response).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
  });

  it("revokes keys, known here or not, and lists their hashes", async () => {
    const appId = testAppId();
    const known = await newKey(appId, "ingest");
    await call("PUT", adminPaths.app(appId), { name: "Revocations", keys: [known] });
    const unknownApp = testAppId();
    const neverSeen = await newKey(unknownApp, "read");

    for (const key of [
      { ...known, appId },
      { ...neverSeen, appId: unknownApp },
    ]) {
      expect(await call("POST", adminPaths.revokeKey, key)).toEqual({ status: 200, body: { revoked: true } });
    }
    // The edge reads the list on the main listener.
    const listed = await signedRequest(t.region.app, "GET", internalPaths.revokedKeys);
    const revoked = { body: (await listed.json()) as { keyHashes: string[] } };
    expect(revoked.body.keyHashes).toEqual(expect.arrayContaining([known.hash, neverSeen.hash]));

    const keys = async () => (await call<{ keys: KeyRecord[] }>("GET", adminPaths.appKeys(appId))).body.keys;
    const [before] = await keys();
    expect(before?.revokedAt).toEqual(expect.any(String));
    // Revoking again keeps the first revocation time; registering the app again does not un-revoke.
    await call("POST", adminPaths.revokeKey, { ...known, appId });
    await call("PUT", adminPaths.app(appId), { name: "Revocations", keys: [known] });
    expect(await keys()).toEqual([before]);
  });

  it.each([
    ["PUT", adminPaths.app("0123456789abcdef"), { keys: [] }, 400, "INVALID_BODY", "name"],
    [
      "PUT",
      adminPaths.app("0123456789abcdef"),
      { name: "x", keys: [{ hash: "abc", kind: "ingest", label: "" }] },
      400,
      "INVALID_BODY",
      "keys[0].hash",
    ],
    ["PUT", adminPaths.app("0123456789abcdef"), { name: "x", keys: [], owner: "me" }, 400, "INVALID_BODY", "owner"],
    ["PUT", adminPaths.app("Not-An-App"), { name: "x", keys: [] }, 400, "BAD_REQUEST", "appId"],
    [
      "POST",
      adminPaths.revokeKey,
      { hash: "f".repeat(64), kind: "admin", label: "", appId: "0123456789abcdef" },
      400,
      "INVALID_BODY",
      "kind",
    ],
    ["POST", adminPaths.revokeKey, { hash: "f".repeat(64), kind: "read", label: "" }, 400, "INVALID_BODY", "appId"],
  ] as const)("refuses %s %s with a bad body", async (method, path, json, status, code, field) => {
    const response = await call<{ error: { code: string; message: string } }>(method, path, json);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toContain(field);
  });

  it("refuses a body that is not declared as JSON with 415", async () => {
    const response = await adminRequest(t.region, "PUT", adminPaths.app(testAppId()), {
      body: '{"name":"x","keys":[]}',
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: "UNSUPPORTED_MEDIA_TYPE" } });
  });
});
